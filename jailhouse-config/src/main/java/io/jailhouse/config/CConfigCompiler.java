package io.jailhouse.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds a binary configuration from a user's C configuration source the way
 * upstream's build does: {@code gcc -c} against the Jailhouse headers, then
 * the bytes of the variable {@code config} copied out of the object file.
 *
 * <p>The headers are our own compatible ones shipped as class-path resources;
 * they are extracted once per JVM into a private temporary directory, which is
 * removed when the JVM exits.
 *
 * <p>Upstream runs {@code objcopy -O binary} on the object. Here the ELF
 * object is read directly and the {@code config} symbol's bytes are sliced out
 * of whatever section holds it ({@code .data}, or {@code .rodata} when the
 * source declares it {@code const}), which needs no binutils output parsing
 * and cannot pick up stray bytes from other variables. Without a
 * {@code config} symbol the whole {@code .data} section (else
 * {@code .rodata}) is taken, as objcopy would produce for a one-variable
 * source.
 *
 * <p>The compiler is {@code gcc} on the {@code PATH}, or the command named by
 * the system property {@code jailhouse.cc}.
 */
public final class CConfigCompiler {
    /** Headers that {@code <jailhouse/...>} includes resolve to, in resources under {@code include/jailhouse/}. */
    static final List<String> HEADERS = List.of("types.h", "cell-config.h", "console.h", "pci_defs.h");

    /** Upper bound for one compiler run; a config compiles in well under a second. */
    static final long TIMEOUT_SECONDS = 60;

    /** Compiler output kept in an error message. */
    static final int MAX_DIAGNOSTIC_LINES = 60;
    /** Compiler output read back at most (the first lines are the useful ones). */
    static final int MAX_DIAGNOSTIC_BYTES = 64 * 1024;
    /** An object larger than this holds no configuration we would read (configs are at most 16 MiB). */
    static final long MAX_OBJECT_BYTES = 64L << 20;

    private static final String SYMBOL = "config";
    private static Path headerRoot;

    private CConfigCompiler() {
    }

    /**
     * Compiles a C configuration and returns the bytes of its {@code config}
     * variable, i.e. the binary {@code .cell} content. The bytes are not
     * validated here; decode them with {@link BinaryConfigCodec}.
     *
     * @throws ConfigFormatException if the file cannot be read or compiled (the
     *         message then carries the compiler's diagnostics verbatim, one per
     *         line), if no compiler is installed, or if the object holds no
     *         usable {@code config}
     */
    public static byte[] compile(Path cFile) throws ConfigFormatException {
        return compile(cFile, TIMEOUT_SECONDS);
    }

    /** {@link #compile(Path)} with another bound on the compiler's run time (tests). */
    static byte[] compile(Path cFile, long timeoutSeconds) throws ConfigFormatException {
        String source = cFile.toString();
        if (!Files.isRegularFile(cFile)) {
            throw new ConfigFormatException(source, null, "no such C configuration file");
        }
        Path work = null;
        try {
            Path headers = headerRoot();
            work = Files.createTempDirectory(headers.getParent(), "cc-");
            Path object = work.resolve("config.o");
            runCompiler(cFile, headers, object, work.resolve("compiler.log"), timeoutSeconds);
            long size = Files.size(object);
            if (size > MAX_OBJECT_BYTES) {
                throw new ConfigFormatException(source, null, "the compiled object is " + size
                        + " bytes, more than any configuration needs (limit " + MAX_OBJECT_BYTES + ")");
            }
            return extractConfig(Files.readAllBytes(object), source);
        } catch (IOException e) {
            throw new ConfigFormatException(source, null, "cannot compile: " + e.getMessage());
        } finally {
            if (work != null) {
                deleteTree(work);
            }
        }
    }

    private static String compilerCommand() {
        String cc = System.getProperty("jailhouse.cc");
        return cc == null || cc.isBlank() ? "gcc" : cc.trim();
    }

    private static void runCompiler(Path cFile, Path headers, Path object, Path log, long timeoutSeconds)
            throws IOException, ConfigFormatException {
        String source = cFile.toString();
        String cc = compilerCommand();
        // "-x c": the language must not depend on the file's extension. The
        // path goes absolute, so that gcc never takes it for an option ("-...")
        // or a response file ("@...", whose content gcc would read as options).
        String input = cFile.toAbsolutePath().normalize().toString();
        List<String> cmd = List.of(cc, "-x", "c", "-c", "-O0", "-fno-common", "-fdiagnostics-color=never",
                "-I" + headers, "-o", object.toString(), input);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new ConfigFormatException(source, null, "cannot compile C configurations: the C compiler '" + cc
                    + "' could not be run (" + e.getMessage() + "); install gcc (e.g. apt-get install gcc)"
                    + " or name a compiler with -Djailhouse.cc=...");
        }
        boolean finished;
        try {
            finished = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            killTree(p);
            Thread.currentThread().interrupt();
            throw new ConfigFormatException(source, null, "interrupted while " + cc + " was compiling it");
        }
        if (!finished) {
            killTree(p);
            throw new ConfigFormatException(source, null, cc + " did not finish within " + timeoutSeconds
                    + " seconds and was stopped");
        }
        if (p.exitValue() != 0 || !Files.isRegularFile(object)) {
            // Decoding replaces bytes that are not UTF-8 (gcc quotes source lines verbatim).
            String out = new String(head(log, MAX_DIAGNOSTIC_BYTES), StandardCharsets.UTF_8).strip();
            throw new ConfigFormatException(source, null, cc + " failed (exit status " + p.exitValue() + ")"
                    + (out.isEmpty() ? "" : ":\n" + limitLines(out)));
        }
    }

    /** The first {@code max} bytes of {@code file}. */
    private static byte[] head(Path file, int max) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(max);
        }
    }

    /** A badly broken file can make gcc print thousands of lines; the first errors are the useful ones. */
    static String limitLines(String text) {
        List<String> lines = text.lines().toList();
        if (lines.size() <= MAX_DIAGNOSTIC_LINES) {
            return text;
        }
        return String.join("\n", lines.subList(0, MAX_DIAGNOSTIC_LINES)) + "\n... ("
                + (lines.size() - MAX_DIAGNOSTIC_LINES) + " more lines of compiler output)";
    }

    /** gcc runs cc1 and as as children; stop them too so nothing lingers. */
    private static void killTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /** The directory to pass with -I: it holds {@code jailhouse/*.h}. Extracted on first use. */
    static synchronized Path headerRoot() throws IOException {
        if (headerRoot != null) {
            return headerRoot;
        }
        // createTempDirectory makes it owner-only on POSIX, so no one else can
        // swap a header between extraction and compilation.
        Path base = Files.createTempDirectory("jailhouse-cconfig-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(base), "jailhouse-cconfig-cleanup"));
        Path root = base.resolve("include");
        Path dir = Files.createDirectories(root.resolve("jailhouse"));
        for (String name : HEADERS) {
            try (InputStream in = CConfigCompiler.class.getResourceAsStream("include/jailhouse/" + name)) {
                if (in == null) {
                    throw new IOException("header jailhouse/" + name + " is missing from the class path"
                            + " (resource io/jailhouse/config/include/jailhouse/" + name + "); the build is broken");
                }
                Files.copy(in, dir.resolve(name));
            }
        }
        headerRoot = root;
        return root;
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // Best effort: a leftover temp directory is harmless.
        }
    }

    /**
     * Slices the {@code config} variable out of a relocatable ELF object.
     * Package-private for tests.
     */
    static byte[] extractConfig(byte[] object, String source) throws ConfigFormatException {
        Elf elf = new Elf(object, source);
        Elf.Symbol sym = elf.findSymbol(SYMBOL);
        if (sym == null) {
            Elf.Section data = elf.sectionNamed(".data");
            if (data == null || data.size == 0) {
                data = elf.sectionNamed(".rodata");
            }
            if (data == null || data.size == 0) {
                throw new ConfigFormatException(source, null, "defines no variable named '" + SYMBOL
                        + "' (the configuration must be a struct variable called config)");
            }
            elf.checkNoRelocations(data, 0, data.size);
            return elf.contents(data, 0, data.size);
        }
        if (sym.shndx == Elf.SHN_UNDEF) {
            throw new ConfigFormatException(source, null, "'" + SYMBOL + "' is declared but never defined");
        }
        if (sym.shndx == Elf.SHN_COMMON) {
            throw new ConfigFormatException(source, null, "'" + SYMBOL
                    + "' is a common symbol (a tentative definition); give it an initialiser");
        }
        if (sym.shndx >= Elf.SHN_LORESERVE) {
            throw new ConfigFormatException(source, null, "'" + SYMBOL + "' is not a variable in a data section");
        }
        if (sym.size == 0) {
            throw new ConfigFormatException(source, null, "'" + SYMBOL + "' has size 0");
        }
        Elf.Section section = elf.section(sym.shndx);
        elf.checkNoRelocations(section, sym.value, sym.size);
        return elf.contents(section, sym.value, sym.size);
    }

    /** Just enough of ELF (32 or 64 bit, little endian) to find a symbol's initial bytes. */
    private static final class Elf {
        static final int SHN_UNDEF = 0;
        static final int SHN_LORESERVE = 0xff00;
        static final int SHN_COMMON = 0xfff2;
        private static final int SHT_SYMTAB = 2;
        private static final int SHT_RELA = 4;
        private static final int SHT_NOBITS = 8;
        private static final int SHT_REL = 9;

        record Section(int index, String name, int type, long offset, long size, int link, int info, long entsize) {
        }

        record Symbol(String name, long value, long size, int shndx) {
        }

        private final ByteBuffer b;
        private final String source;
        private final boolean is64;
        private final List<Section> sections = new ArrayList<>();

        Elf(byte[] data, String source) throws ConfigFormatException {
            this.source = source;
            this.b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            if (data.length < 52 || data[0] != 0x7f || data[1] != 'E' || data[2] != 'L' || data[3] != 'F') {
                throw bad("the compiler's output is not an ELF object");
            }
            if (data[4] != 1 && data[4] != 2) {
                throw bad("unknown ELF class " + data[4]);
            }
            is64 = data[4] == 2;
            if (data[5] != 1) {
                // The configuration format is little endian; a big-endian
                // compiler would produce a file no loader can read.
                throw bad("the compiler produced a big-endian object; configurations are little endian");
            }
            long shoff = is64 ? u64(0x28) : u32(0x20);
            int shentsize = u16(is64 ? 0x3a : 0x2e);
            int shnum = u16(is64 ? 0x3c : 0x30);
            int shstrndx = u16(is64 ? 0x3e : 0x32);
            List<long[]> raw = new ArrayList<>();
            for (int i = 0; i < shnum; i++) {
                long h = shoff + (long) i * shentsize;
                need(h, is64 ? 64 : 40);
                raw.add(is64
                        ? new long[] {u32(h), u32(h + 4), u64(h + 24), u64(h + 32), u32(h + 40), u32(h + 44), u64(h + 56)}
                        : new long[] {u32(h), u32(h + 4), u32(h + 16), u32(h + 20), u32(h + 24), u32(h + 28), u32(h + 36)});
            }
            long[] strtab = shstrndx < raw.size() ? raw.get(shstrndx) : null;
            for (int i = 0; i < raw.size(); i++) {
                long[] r = raw.get(i);
                String name = strtab == null ? "" : string(strtab[2], strtab[3], r[0]);
                sections.add(new Section(i, name, (int) r[1], r[2], r[3], (int) r[4], (int) r[5], r[6]));
            }
        }

        Section section(int index) throws ConfigFormatException {
            if (index >= sections.size()) {
                throw bad("symbol refers to missing section " + index);
            }
            return sections.get(index);
        }

        Section sectionNamed(String name) {
            return sections.stream().filter(s -> s.name.equals(name)).findFirst().orElse(null);
        }

        /** The defined symbol of that name if there is one, else any (undefined) one, else null. */
        Symbol findSymbol(String name) throws ConfigFormatException {
            Symbol found = null;
            for (Section symtab : sections) {
                if (symtab.type != SHT_SYMTAB) {
                    continue;
                }
                Section strtab = section(symtab.link);
                int entsize = is64 ? 24 : 16;
                need(symtab.offset, symtab.size);
                for (long o = symtab.offset; o + entsize <= symtab.offset + symtab.size; o += entsize) {
                    String n = string(strtab.offset, strtab.size, u32(o));
                    if (!n.equals(name)) {
                        continue;
                    }
                    Symbol s = is64
                            ? new Symbol(n, u64(o + 8), u64(o + 16), u16(o + 6))
                            : new Symbol(n, u32(o + 4), u32(o + 8), u16(o + 14));
                    if (found == null || found.shndx == SHN_UNDEF) {
                        found = s;
                    }
                }
            }
            return found;
        }

        /**
         * A relocation inside the config would be an address (a pointer or
         * the address of another variable), which the object holds only as a
         * placeholder; the binary format has no place for it.
         */
        void checkNoRelocations(Section target, long from, long size) throws ConfigFormatException {
            for (Section s : sections) {
                if ((s.type == SHT_RELA || s.type == SHT_REL) && s.info == target.index) {
                    long entsize = s.entsize != 0 ? s.entsize
                            : s.type == SHT_RELA ? (is64 ? 24 : 12) : (is64 ? 16 : 8);
                    need(s.offset, s.size);
                    for (long o = s.offset; o + entsize <= s.offset + s.size; o += entsize) {
                        long at = is64 ? u64(o) : u32(o);
                        if (at >= from && at < from + size) {
                            throw new ConfigFormatException(source, null, "'" + SYMBOL + "' contains an address"
                                    + " (pointer) at byte " + (at - from) + ", which a binary configuration cannot hold");
                        }
                    }
                }
            }
        }

        byte[] contents(Section s, long from, long size) throws ConfigFormatException {
            if (from < 0 || size < 0 || from + size > s.size || size > Integer.MAX_VALUE) {
                throw bad("symbol '" + SYMBOL + "' (" + size + " bytes at " + from + ") lies outside its section "
                        + s.name);
            }
            if (s.type == SHT_NOBITS) {
                return new byte[(int) size]; // .bss: all zero
            }
            need(s.offset + from, size);
            return Arrays.copyOfRange(b.array(), (int) (s.offset + from), (int) (s.offset + from + size));
        }

        private String string(long tableOffset, long tableSize, long index) throws ConfigFormatException {
            if (index >= tableSize) {
                throw bad("string index " + index + " outside its table");
            }
            need(tableOffset, tableSize);
            int start = (int) (tableOffset + index);
            int end = start;
            while (end < tableOffset + tableSize && b.get(end) != 0) {
                end++;
            }
            return new String(b.array(), start, end - start, StandardCharsets.ISO_8859_1);
        }

        private void need(long offset, long size) throws ConfigFormatException {
            if (offset < 0 || size < 0 || offset + size > b.capacity()) {
                throw bad("object file is truncated or malformed");
            }
        }

        private int u16(long o) throws ConfigFormatException {
            need(o, 2);
            return b.getShort((int) o) & 0xffff;
        }

        private long u32(long o) throws ConfigFormatException {
            need(o, 4);
            return b.getInt((int) o) & 0xffffffffL;
        }

        private long u64(long o) throws ConfigFormatException {
            need(o, 8);
            return b.getLong((int) o);
        }

        private ConfigFormatException bad(String problem) {
            return new ConfigFormatException(source, null, problem);
        }
    }
}
