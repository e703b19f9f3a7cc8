/*
 * Jailhouse for Java - fixed-width integer types for configuration sources.
 *
 * Configurations are plain C files compiled by the host gcc, so they cannot
 * rely on kernel headers being installed. The typedefs below spell the same
 * types as Linux's <asm-generic/int-ll64.h>, which keeps them compatible
 * should a configuration also pull in <linux/types.h> (C11 permits an
 * identical typedef to be repeated).
 */

#ifndef _JAILHOUSE_TYPES_H
#define _JAILHOUSE_TYPES_H

#ifndef __ASSEMBLY__

typedef signed char __s8;
typedef unsigned char __u8;

typedef signed short __s16;
typedef unsigned short __u16;

typedef signed int __s32;
typedef unsigned int __u32;

/* __extension__ silences -pedantic about long long in pre-C99 modes. */
#ifdef __GNUC__
__extension__ typedef signed long long __s64;
__extension__ typedef unsigned long long __u64;
#else
typedef signed long long __s64;
typedef unsigned long long __u64;
#endif

/* Configurations are byte images: every width must be exact. */
_Static_assert(sizeof(__u8) == 1 && sizeof(__u16) == 2 && sizeof(__u32) == 4 &&
	       sizeof(__u64) == 8, "jailhouse/types.h: unexpected integer widths");

#endif /* !__ASSEMBLY__ */

#endif /* !_JAILHOUSE_TYPES_H */
