package io.jailhouse.cli.aot;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.lang.constant.ClassDesc;
import java.lang.reflect.AccessFlag;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * Re-emits the classes of a jar at class-file version 52 with stack maps,
 * changing nothing else. The JVM keeps classes older than version 50 out of
 * class-data archives and AOT caches; picocli is published as version 49
 * (Java 5), so without this every command would load and verify picocli's
 * classes from the jar at each start (about 100 ms here).
 *
 * <p>Run by the build: {@code ClassFileUpgrade JAR}, rewriting the jar in
 * place; a jar whose classes are all version 50 or newer is left as it is.
 */
public final class ClassFileUpgrade {
    /** Java 8's class files: stack maps are required, nothing newer is needed. */
    static final int TARGET_MAJOR = 52;
    /** The first version the JVM archives (the split verifier's). */
    static final int ARCHIVABLE_MAJOR = 50;

    private ClassFileUpgrade() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ClassFileUpgrade JAR");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        int changed = upgrade(jar);
        System.out.println(changed == 0 ? "  AOT     " + jar.getFileName() + ": nothing to re-emit"
                : "  AOT     " + jar.getFileName() + ": " + changed + " classes re-emitted at version " + TARGET_MAJOR);
    }

    /**
     * Rewrites {@code jar} so that every class is at least version 52.
     *
     * @return how many classes were re-emitted (0: the jar was left untouched)
     */
    static int upgrade(Path jar) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        java.util.jar.Manifest manifest;
        try (JarFile in = new JarFile(jar.toFile(), false)) {
            manifest = in.getManifest();
            for (JarEntry e : Collections.list(in.entries())) {
                if (!e.isDirectory() && !e.getName().equals(JarFile.MANIFEST_NAME)) {
                    try (var s = in.getInputStream(e)) {
                        entries.put(e.getName(), s.readAllBytes());
                    }
                }
            }
        }
        // Stack maps need the class hierarchy: the jar's own classes first, then the platform's.
        Map<ClassDesc, ClassHierarchyResolver.ClassHierarchyInfo> own = new HashMap<>();
        boolean old = false;
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            if (isClass(e.getKey())) {
                ClassModel cm = ClassFile.of().parse(e.getValue());
                old |= cm.majorVersion() < ARCHIVABLE_MAJOR;
                own.put(cm.thisClass().asSymbol(), cm.flags().has(AccessFlag.INTERFACE)
                        ? ClassHierarchyResolver.ClassHierarchyInfo.ofInterface()
                        : ClassHierarchyResolver.ClassHierarchyInfo.ofClass(
                                cm.superclass().map(s -> s.asSymbol()).orElse(null)));
            }
        }
        if (!old) {
            return 0;
        }
        ClassHierarchyResolver jarClasses = own::get;
        ClassFile cf = ClassFile.of(
                ClassFile.ClassHierarchyResolverOption.of(jarClasses.orElse(ClassHierarchyResolver.defaultResolver())),
                ClassFile.StackMapsOption.GENERATE_STACK_MAPS);
        // Every method body is rebuilt (so stack maps are generated); the version element is replaced.
        ClassTransform upgrade = ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL)
                .andThen((builder, element) -> {
                    if (element instanceof ClassFileVersion v) {
                        builder.withVersion(Math.max(v.majorVersion(), TARGET_MAJOR), 0);
                    } else {
                        builder.with(element);
                    }
                });
        int changed = 0;
        Path tmp = Files.createTempFile(jar.toAbsolutePath().getParent(), jar.getFileName().toString(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp);
                    JarOutputStream out = manifest != null ? new JarOutputStream(os, manifest) : new JarOutputStream(os)) {
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    byte[] bytes = e.getValue();
                    if (isClass(e.getKey())) {
                        ClassModel cm = cf.parse(bytes);
                        if (cm.majorVersion() < ARCHIVABLE_MAJOR) {
                            bytes = cf.transformClass(cm, upgrade);
                            changed++;
                        }
                    }
                    out.putNextEntry(new JarEntry(e.getKey()));
                    out.write(bytes);
                    out.closeEntry();
                }
            }
            Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return changed;
    }

    /** A class of the jar's own (multi-release versions and module-info are left alone). */
    private static boolean isClass(String name) {
        return name.endsWith(".class") && !name.startsWith("META-INF/") && !name.endsWith("module-info.class");
    }
}
