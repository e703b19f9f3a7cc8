package io.jailhouse.bench;

/** A trivial Java program: the JVM's own start-up, the floor of a Java CLI (bench/run cli). */
public final class Hello {
    private Hello() {
    }

    public static void main(String[] args) {
        System.out.println("hello");
    }
}
