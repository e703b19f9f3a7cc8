/**
 * The devices the daemon emulates for a cell, and the buses that find them.
 *
 * <p>Everything a vCPU thread calls here ({@code accepts}, {@code read},
 * {@code write}, {@code put}, bus lookups) keeps the hot-path rules of the
 * architecture: no allocation, no lock, no logging, no exception, and
 * constant or logarithmic lookup. Buses are built once, when the cell is
 * created, and are immutable afterwards.
 */
package io.jailhouse.hypervisor.device;
