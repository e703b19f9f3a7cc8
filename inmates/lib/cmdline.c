/*
 * Jailhouse for Java - inmate library: command line parsing (spec 5.4).
 *
 * The command line is a list of space-separated tokens "name=value" or
 * "name". A parameter matches the first token that starts with its name
 * (prefix match, as upstream). Value buffers: 32 bytes for integers and
 * strings, 8 for booleans.
 */

#include <inmate.h>

/*
 * Looks param up. On a match copies the value (possibly empty) into
 * value_buffer, truncated to buffer_size - 1 characters, and returns true.
 */
static bool get_param(const char *param, char *value_buffer,
		      unsigned long buffer_size)
{
	unsigned long param_len = strlen(param);
	const char *p = cmdline;

	while (true) {
		while (*p == ' ')
			p++;
		if (*p == 0)
			return false;

		if (strncmp(p, param, param_len) == 0) {
			p += param_len;
			if (*p == '=')
				p++;
			else
				p = "";	/* bare "name" or longer token: no value */
			while (buffer_size > 1 && *p != ' ' && *p != 0) {
				*value_buffer++ = *p++;
				buffer_size--;
			}
			if (buffer_size > 0)
				*value_buffer = 0;
			return true;
		}

		while (*p != ' ') {
			if (*p == 0)
				return false;
			p++;
		}
	}
}

const char *cmdline_parse_str(const char *param, char *value_buffer,
			      unsigned long buffer_size,
			      const char *default_value)
{
	if (get_param(param, value_buffer, buffer_size))
		return value_buffer;
	return default_value;
}

static int digit_value(char c, unsigned int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < (int)base ? v : -1;
}

long long cmdline_parse_int(const char *param, long long default_value)
{
	char value_buffer[32];
	const char *p = value_buffer;
	unsigned long long value = 0;
	unsigned int base = 10;
	bool negative = false;
	int digit;

	if (!get_param(param, value_buffer, sizeof(value_buffer)))
		return default_value;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (*p == '-' || *p == '+') {
		negative = *p == '-';
		p++;
	}
	if (*p == 0)
		return default_value;

	for (; *p; p++) {
		digit = digit_value(*p, base);
		if (digit < 0)
			return default_value;
		value = value * base + digit;
	}
	return negative ? -(long long)value : (long long)value;
}

bool cmdline_parse_bool(const char *param, bool default_value)
{
	char value_buffer[8];

	if (!get_param(param, value_buffer, sizeof(value_buffer)))
		return default_value;

	if (value_buffer[0] == 0 || value_buffer[0] == '1' ||
	    strncasecmp(value_buffer, "true", 4) == 0)
		return true;
	if (value_buffer[0] == '0' || strncasecmp(value_buffer, "false", 5) == 0)
		return false;
	return default_value;
}
