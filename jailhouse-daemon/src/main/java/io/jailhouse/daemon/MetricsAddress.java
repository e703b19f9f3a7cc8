package io.jailhouse.daemon;

/**
 * Where {@code --metrics HOST:PORT} serves Prometheus text: a host name or
 * address ({@code [::1]} for IPv6) and a TCP port (0: any free one, which
 * the daemon's log then names).
 */
public record MetricsAddress(String host, int port) {
    public static final String OPTION = "--metrics";

    public MetricsAddress {
        if (host.isEmpty() || port < 0 || port > 65535) {
            throw new IllegalArgumentException(OPTION + ": host \"" + host + "\" port " + port);
        }
    }

    /** Parses {@code HOST:PORT}; the message of what it throws names the option and what is wrong. */
    public static MetricsAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(OPTION + " " + text + ": expected HOST:PORT, e.g. 127.0.0.1:9669");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException(OPTION + " " + text + ": an IPv6 address goes in brackets, e.g. [::1]:9669");
        }
        if (host.isEmpty() || host.length() > 253 || !host.chars().allMatch(c -> Character.isLetterOrDigit(c)
                || c == '.' || c == '-' || c == ':' || c == '%' || c == '_')) {
            throw new IllegalArgumentException(OPTION + " " + text + ": \"" + host + "\" is not a host name or address");
        }
        String port = text.substring(colon + 1);
        int p;
        try {
            p = port.chars().allMatch(Character::isDigit) && port.length() <= 5 ? Integer.parseInt(port) : -1;
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException(OPTION + " " + text + ": port \"" + port + "\" is not 0 to 65535");
        }
        return new MetricsAddress(host, p);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
