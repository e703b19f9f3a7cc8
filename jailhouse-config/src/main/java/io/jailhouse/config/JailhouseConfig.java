package io.jailhouse.config;

/** A configuration file's content: a system (root cell) config or a non-root cell config. */
public sealed interface JailhouseConfig permits SystemConfig, CellConfig {
    /** The cell this config describes: the root cell of a system config, or the cell itself. */
    CellConfig cell();

    Architecture architecture();

    /** The size of the binary ({@code .cell}) form in bytes. */
    long encodedSize();
}
