/*
 * Jailhouse for Java - PCI capability identifiers for the pci_caps arrays of
 * configurations.
 *
 * The numbers are those assigned by the PCI and PCI Express specifications;
 * the names follow the spelling Linux uses in <linux/pci_regs.h> so that
 * configurations written against either read the same. The values are
 * spelled token for token as Linux spells them (upper-case hex digits), so
 * a source including both headers sees no conflicting redefinition.
 *
 * An extended capability is entered in a configuration as
 * PCI_EXT_CAP_ID_xxx | JAILHOUSE_PCI_EXT_CAP.
 */

#ifndef _JAILHOUSE_PCI_DEFS_H
#define _JAILHOUSE_PCI_DEFS_H

/* Conventional capabilities (list starting at config offset 0x34) */
#define PCI_CAP_ID_PM		0x01	/* power management */
#define PCI_CAP_ID_AGP		0x02	/* accelerated graphics port */
#define PCI_CAP_ID_VPD		0x03	/* vital product data */
#define PCI_CAP_ID_SLOTID	0x04	/* slot identification */
#define PCI_CAP_ID_MSI		0x05	/* message signalled interrupts */
#define PCI_CAP_ID_CHSWP	0x06	/* CompactPCI hot swap */
#define PCI_CAP_ID_PCIX		0x07	/* PCI-X */
#define PCI_CAP_ID_HT		0x08	/* HyperTransport */
#define PCI_CAP_ID_VNDR		0x09	/* vendor specific */
#define PCI_CAP_ID_DBG		0x0A	/* debug port */
#define PCI_CAP_ID_CCRC		0x0B	/* CompactPCI central resource control */
#define PCI_CAP_ID_SHPC		0x0C	/* standard hot-plug controller */
#define PCI_CAP_ID_SSVID	0x0D	/* bridge subsystem vendor/device id */
#define PCI_CAP_ID_AGP3		0x0E	/* AGP 8x target */
#define PCI_CAP_ID_SECDEV	0x0F	/* secure device */
#define PCI_CAP_ID_EXP		0x10	/* PCI Express */
#define PCI_CAP_ID_MSIX		0x11	/* MSI-X */
#define PCI_CAP_ID_SATA		0x12	/* SATA data/index configuration */
#define PCI_CAP_ID_AF		0x13	/* PCI advanced features */
#define PCI_CAP_ID_EA		0x14	/* enhanced allocation */

/* Extended capabilities (list starting at config offset 0x100) */
#define PCI_EXT_CAP_ID_ERR	0x01	/* advanced error reporting */
#define PCI_EXT_CAP_ID_VC	0x02	/* virtual channel */
#define PCI_EXT_CAP_ID_DSN	0x03	/* device serial number */
#define PCI_EXT_CAP_ID_PWR	0x04	/* power budgeting */
#define PCI_EXT_CAP_ID_RCLD	0x05	/* root complex link declaration */
#define PCI_EXT_CAP_ID_RCILC	0x06	/* root complex internal link control */
#define PCI_EXT_CAP_ID_RCEC	0x07	/* root complex event collector */
#define PCI_EXT_CAP_ID_MFVC	0x08	/* multi-function virtual channel */
#define PCI_EXT_CAP_ID_VC9	0x09	/* virtual channel, second id */
#define PCI_EXT_CAP_ID_RCRB	0x0A	/* root complex register block */
#define PCI_EXT_CAP_ID_VNDR	0x0B	/* vendor specific */
#define PCI_EXT_CAP_ID_CAC	0x0C	/* config access correlation (obsolete) */
#define PCI_EXT_CAP_ID_ACS	0x0D	/* access control services */
#define PCI_EXT_CAP_ID_ARI	0x0E	/* alternative routing-id interpretation */
#define PCI_EXT_CAP_ID_ATS	0x0F	/* address translation services */
#define PCI_EXT_CAP_ID_SRIOV	0x10	/* single root I/O virtualization */
#define PCI_EXT_CAP_ID_MRIOV	0x11	/* multi root I/O virtualization */
#define PCI_EXT_CAP_ID_MCAST	0x12	/* multicast */
#define PCI_EXT_CAP_ID_PRI	0x13	/* page request interface */
#define PCI_EXT_CAP_ID_AMD_XXX	0x14	/* reserved for AMD */
#define PCI_EXT_CAP_ID_REBAR	0x15	/* resizable BAR */
#define PCI_EXT_CAP_ID_DPA	0x16	/* dynamic power allocation */
#define PCI_EXT_CAP_ID_TPH	0x17	/* TPH requester */
#define PCI_EXT_CAP_ID_LTR	0x18	/* latency tolerance reporting */
#define PCI_EXT_CAP_ID_SECPCI	0x19	/* secondary PCI Express */
#define PCI_EXT_CAP_ID_PMUX	0x1A	/* protocol multiplexing */
#define PCI_EXT_CAP_ID_PASID	0x1B	/* process address space id */
#define PCI_EXT_CAP_ID_LNR	0x1C	/* LN requester */
#define PCI_EXT_CAP_ID_DPC	0x1D	/* downstream port containment */
#define PCI_EXT_CAP_ID_L1SS	0x1E	/* L1 PM substates */
#define PCI_EXT_CAP_ID_PTM	0x1F	/* precision time measurement */
#define PCI_EXT_CAP_ID_DVSEC	0x23	/* designated vendor specific */
#define PCI_EXT_CAP_ID_DLF	0x25	/* data link feature */
#define PCI_EXT_CAP_ID_PL_16GT	0x26	/* physical layer 16.0 GT/s */

#endif /* !_JAILHOUSE_PCI_DEFS_H */
