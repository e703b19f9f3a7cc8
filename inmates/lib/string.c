/*
 * Jailhouse for Java - inmate library: string and memory functions.
 * Built with -fno-tree-loop-distribute-patterns so gcc does not turn these
 * loops back into calls to themselves.
 */

#include <inmate.h>

void *memset(void *s, int c, unsigned long n)
{
	u8 *p = s;

	while (n--)
		*p++ = c;
	return s;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	const u8 *src = s;
	u8 *dst = d;

	while (n--)
		*dst++ = *src++;
	return d;
}

void *memmove(void *d, const void *s, unsigned long n)
{
	const u8 *src = s;
	u8 *dst = d;

	if (dst <= src || dst >= src + n)
		return memcpy(d, s, n);
	while (n--)
		dst[n] = src[n];
	return d;
}

int memcmp(const void *s1, const void *s2, unsigned long n)
{
	const u8 *a = s1, *b = s2;

	for (; n; n--, a++, b++)
		if (*a != *b)
			return *a - *b;
	return 0;
}

unsigned long strlen(const char *s)
{
	unsigned long len = 0;

	while (s[len])
		len++;
	return len;
}

int strncmp(const char *s1, const char *s2, unsigned long n)
{
	for (; n; n--, s1++, s2++) {
		if (*s1 != *s2)
			return (u8)*s1 - (u8)*s2;
		if (!*s1)
			break;
	}
	return 0;
}

int strcmp(const char *s1, const char *s2)
{
	return strncmp(s1, s2, ~0UL);
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int strncasecmp(const char *s1, const char *s2, unsigned long n)
{
	for (; n; n--, s1++, s2++) {
		if (to_lower(*s1) != to_lower(*s2))
			return (u8)to_lower(*s1) - (u8)to_lower(*s2);
		if (!*s1)
			break;
	}
	return 0;
}
