/**
 * The PCI configuration space of a cell and the ivshmem v2 device (spec 6
 * and 7), as plain Java the vCPU exit loop calls.
 *
 * <h2>Pieces</h2>
 * <ul>
 * <li>{@link io.jailhouse.hypervisor.pci.PciConfigSpace}: a cell's functions
 *     by BDF, all ones elsewhere; its {@link io.jailhouse.hypervisor.pci.PciConfigPorts}
 *     (a {@code PioDevice} for 0xcf8-0xcff) and
 *     {@link io.jailhouse.hypervisor.pci.PciMmconfig} (an {@code MmioDevice}
 *     for the MMCONFIG window).
 * <li>{@link io.jailhouse.hypervisor.pci.VirtualPciFunction}, and
 *     {@link io.jailhouse.hypervisor.pci.EmulatedEndpoint} with the header
 *     policy and BAR decoding all emulated endpoints share.
 * <li>{@link io.jailhouse.hypervisor.pci.IvshmemDevice} (one peer) and
 *     {@link io.jailhouse.hypervisor.pci.IvshmemLink} (the peers of one BDF,
 *     and config validation).
 * <li>Interfaces the KVM side implements:
 *     {@link io.jailhouse.hypervisor.pci.MsiSink} (KVM_SIGNAL_MSI into one
 *     cell) and {@link io.jailhouse.hypervisor.pci.DoorbellRouting} (wiring
 *     doorbells as ioeventfd &rarr; irqfd; its Javadoc is the contract).
 * <li>{@link io.jailhouse.hypervisor.pci.DeviceEmulations}: which model
 *     (an {@link io.jailhouse.hypervisor.pci.EmulatedModel}) serves a
 *     physical device entry; without one the entry refuses its cell.
 * <li>In {@code io.jailhouse.hypervisor.device}: {@code MmioWindowTable}
 *     (BAR windows that move), {@code FaultReporter} (upstream's own FATAL
 *     lines) and the default {@code acceptsWrite(.., value)} of
 *     {@code PioDevice}/{@code MmioDevice}.
 * </ul>
 *
 * <h2>Wiring</h2>
 *
 * <p><b>Validation (KvmHypervisor.createCell, under the lock, before
 * anything is taken):</b> {@code PciConfigSpace.checkCell(config,
 * emulations)}; then for each ivshmem BDF of the new cell
 * {@code IvshmemLink.validate(IvshmemLink.members(bdf, cells))} with
 * {@code cells} = the root cell config, every existing cell's config and
 * the new one. Map {@code PciConfigException} to
 * {@code HypervisorException(e.busy() ? EBUSY : EINVAL, e.getMessage())}.
 *
 * <p><b>Building (Cell.create):</b>
 * <ol>
 * <li>{@code MmioWindowTable windows = new MmioWindowTable()} for the cell
 *     (listeners optional; ivshmem's doorbells come through
 *     {@code DoorbellRouting}).
 * <li>For PCI device {@code i}: ivshmem &rarr; {@code new IvshmemDevice(config,
 *     i, link, stateTable, msiSink, cpus, windows)} with {@code link} the
 *     hypervisor's {@code IvshmemLink} for the BDF (create it with the
 *     hypervisor's {@code DoorbellRouting} on first use), {@code stateTable}
 *     = {@code reservedMemory.slice(region[shmem_regions_start].physStart(),
 *     0x1000)}, {@code msiSink} = KVM_SIGNAL_MSI on this cell's VM,
 *     {@code cpus} = the cell's CPU numbers (= APIC ids); device or bridge
 *     &rarr; the model {@code emulations.modelFor(entry)} names
 *     ({@code IntelHdaController.create(config, i, msiSink, windows)}).
 * <li>{@code PciConfigSpace pci = new PciConfigSpace(config.name(),
 *     functions, system.platform())}.
 * <li>PIO bus, before the whitelist loop:
 *     {@code pio.add(PciConfigPorts.BASE, PciConfigPorts.COUNT, pci.ports())}
 *     and mark 0xcf8-0xcff claimed (upstream always intercepts them).
 * <li>MMIO bus: if {@code pci.mmconfig() != null},
 *     {@code mmio.add(m.base(), m.size(), m)} (in every cell).
 * <li>Give each {@code Vcpu} the {@code windows} table.
 * <li>Once the cell can no longer fail to be created: for each ivshmem
 *     device print the lines of {@code link.attach(device)}, then
 *     {@code pci.reset()}.
 * </ol>
 *
 * <p><b>Exits (Vcpu):</b>
 * <ul>
 * <li>Writes ask {@code d.acceptsWrite(port, size, value)} /
 *     {@code d.acceptsWrite(offset, size, value)} instead of
 *     {@code accepts(.., true)} (the default is the same for other devices).
 * <li>MMIO: when the static bus has no region,
 *     {@code MmioWindowTable.Windows w = windows.current(); int j =
 *     w.indexOf(address, size)}; device {@code w.device(j)}, offset
 *     {@code address - w.base(j)} (one snapshot per exit).
 * <li>On refusal, remember the refusing device (a plain field). In
 *     {@code describeFailure}, if it is a {@code FaultReporter} with a
 *     non-null {@code lastFaultLine()}, print that (it may be two lines)
 *     instead of the generic line; for a PIO access with no device whose
 *     start is in 0xcf8-0xcff (it runs past 0xcff),
 *     {@code PciConfigPorts.portFaultLine(port, size, write)} is upstream's
 *     line. Register dump and parking line follow as now.
 * </ul>
 *
 * <p><b>Reset points:</b> {@code pci.reset()} at creation (after attach),
 * in {@code Cell.start()} after parking the CPUs, and in
 * {@code Cell.load()} (load and shutdown) after parking them.
 * {@code Cell.destroy()}: after the vCPU threads exited and before the VM
 * is closed, {@code link.detach(device)} for each ivshmem device (its
 * routes are unwired and its doorbell removed through
 * {@code DoorbellRouting}); drop a link with {@code peerCount() == 0}.
 *
 * <p>The root cell is the host here, not a VM: its ivshmem entries take
 * part in validation (their peer ids stay reserved) but never attach, so
 * doorbells to them are ignored and their state entries stay 0.
 */
package io.jailhouse.hypervisor.pci;
