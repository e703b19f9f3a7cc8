package io.jailhouse.cli;

import io.jailhouse.protocol.CellRef;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of {@code cell load}, parsed as upstream's tool does:
 * {@code { ID | [--name] NAME } { IMAGE | { -s | --string } STRING } [-a | --address ADDRESS] ...}.
 * The order matters (images are loaded in it and an address belongs to the
 * image before it), which is why this is not left to picocli.
 *
 * @param images in command-line order
 */
record LoadArguments(CellRef cell, List<Image> images) {
    /**
     * One image: a file, or a string (loaded with its terminating NUL).
     *
     * @param file null for a string
     * @param string null for a file
     * @param address guest-physical target, 0 unless {@code -a} follows
     */
    record Image(String file, String string, long address) {
    }

    /** @throws IllegalArgumentException with what is wrong (the caller prints the usage) */
    static LoadArguments parse(List<String> args) {
        if (args.isEmpty()) {
            throw new IllegalArgumentException("Missing cell: ID, NAME or --name NAME");
        }
        int i;
        CellRef cell;
        if (args.get(0).equals("--name")) {
            if (args.size() < 2) {
                throw new IllegalArgumentException("Missing NAME after --name");
            }
            cell = CellRef.ofName(args.get(1));
            i = 2;
        } else {
            cell = CellRef.parse(args.get(0));
            i = 1;
        }
        if (i == args.size()) {
            throw new IllegalArgumentException("Missing image: IMAGE or -s STRING");
        }
        List<Image> images = new ArrayList<>();
        while (i < args.size()) {
            String arg = args.get(i);
            String file = null;
            String string = null;
            if (isString(arg)) {
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException("Missing STRING after " + arg);
                }
                string = args.get(i + 1);
                i += 2;
            } else if (isAddress(arg)) {
                throw new IllegalArgumentException(arg + " must follow an image");
            } else {
                file = arg;
                i++;
            }
            long address = 0;
            if (i < args.size() && isAddress(args.get(i))) {
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException("Missing ADDRESS after " + args.get(i));
                }
                address = parseAddress(args.get(i + 1));
                i += 2;
            }
            images.add(new Image(file, string, address));
        }
        return new LoadArguments(cell, images);
    }

    private static boolean isString(String arg) {
        return arg.equals("-s") || arg.equals("--string");
    }

    private static boolean isAddress(String arg) {
        return arg.equals("-a") || arg.equals("--address");
    }

    /**
     * An address as {@code strtoll(s, NULL, 0)} reads it (decimal, {@code 0x}
     * hex, {@code 0} octal, optional sign), except that text that is not
     * entirely a number is refused instead of silently becoming 0: a typo
     * must not load an image at address 0.
     */
    static long parseAddress(String text) {
        String s = text.strip();
        boolean negative = false;
        if (s.startsWith("-") || s.startsWith("+")) {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        int radix = 10;
        if (s.length() > 2 && (s.startsWith("0x") || s.startsWith("0X"))) {
            radix = 16;
            s = s.substring(2);
        } else if (s.length() > 1 && s.startsWith("0")) {
            radix = 8;
            s = s.substring(1);
        }
        BigInteger value;
        try {
            if (s.isEmpty() || !Character.isLetterOrDigit(s.charAt(0))) {
                throw new NumberFormatException();
            }
            value = new BigInteger(s, radix);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid ADDRESS \"" + text + "\": a number (decimal, 0x hex or 0 octal) is expected");
        }
        if (negative) {
            value = value.negate();
        }
        if (value.bitLength() > 63) {
            throw new IllegalArgumentException("ADDRESS \"" + text + "\" is out of range");
        }
        return value.longValue();
    }
}
