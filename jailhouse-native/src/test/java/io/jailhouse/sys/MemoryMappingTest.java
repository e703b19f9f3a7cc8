package io.jailhouse.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Mappings are owned by an arena: after close every access throws, from any thread, and nothing crashes. */
class MemoryMappingTest {
    @Test
    void accessAfterCloseThrowsInsteadOfTouchingUnmappedMemory() throws Exception {
        MemoryMapping m = MemoryMapping.anonymous(2 * 4096);
        MemorySegment whole = m.segment();
        MemorySegment slice = whole.asSlice(4096, 8);
        whole.set(ValueLayout.JAVA_LONG, 0, 42);
        assertThat(whole.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(42);
        assertThat(m.isOpen()).isTrue();
        m.close();
        assertThat(m.isOpen()).isFalse();
        assertThatThrownBy(() -> whole.get(ValueLayout.JAVA_LONG, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> slice.set(ValueLayout.JAVA_LONG, 0, 1)).isInstanceOf(IllegalStateException.class);
        // another thread that kept a view meets the same exception
        assertThat(CompletableFuture.supplyAsync(() -> {
            try {
                slice.get(ValueLayout.JAVA_LONG, 0);
                return "read unmapped memory";
            } catch (IllegalStateException e) {
                return "refused";
            }
        }).get()).isEqualTo("refused");
        m.close(); // again: nothing
    }

    @Test
    void aReadOnlyFileMappingRefusesWritesAtTheSegment() throws Exception {
        int fd = Libc.memfdCreate("ro", Libc.MFD_CLOEXEC);
        try {
            Libc.ftruncate(fd, 4096);
            try (MemoryMapping rw = MemoryMapping.ofFile(fd, 0, 4096, true);
                    MemoryMapping ro = MemoryMapping.ofFile(fd, 0, 4096, false)) {
                rw.segment().set(ValueLayout.JAVA_INT, 0, 7);
                assertThat(ro.segment().get(ValueLayout.JAVA_INT, 0)).isEqualTo(7);
                assertThat(ro.segment().isReadOnly()).isTrue();
                assertThatThrownBy(() -> ro.segment().set(ValueLayout.JAVA_INT, 0, 1))
                        .isInstanceOf(IllegalArgumentException.class);
            }
        } finally {
            Libc.close(fd);
        }
    }
}
