/*
 * Jailhouse for Java - inmate library: the default command line buffer.
 *
 * Alone in its object file on purpose: the archive member is only pulled
 * in when the inmate did not define its own buffer with CMDLINE_BUFFER(),
 * so .cmdline at 0x1000 always starts with the one buffer in use.
 */

#include <inmate.h>

CMDLINE_BUFFER(CMDLINE_BUFFER_SIZE);
