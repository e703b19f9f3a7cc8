package io.jailhouse.sys;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test class that runs against the machine's real {@code /dev/kvm}. Where
 * there is none, or this user may not open it, every test of the class is
 * skipped and says so loudly on stderr and in the report, instead of
 * passing. A {@code /dev/kvm} that exists but fails to open for another
 * reason fails the tests: that is a broken machine, not a missing feature.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresKvm.Condition.class)
public @interface RequiresKvm {
    /** The JUnit condition behind the annotation. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String reason = null;
            if (!Files.exists(KvmDevice.DEFAULT_PATH)) {
                reason = KvmDevice.DEFAULT_PATH + " does not exist on this machine";
            } else {
                try {
                    KvmDevice.open().close();
                } catch (NativeException e) {
                    if (!e.is(Errno.EACCES) && !e.is(Errno.EPERM)) {
                        throw new AssertionError(KvmDevice.DEFAULT_PATH + " exists but cannot be opened: "
                                + e.getMessage(), e);
                    }
                    reason = e.getMessage() + " (run the tests as a user allowed to open it)";
                }
            }
            if (reason == null) {
                return ConditionEvaluationResult.enabled(KvmDevice.DEFAULT_PATH + " opens");
            }
            String message = "KVM TESTS SKIPPED: " + reason;
            System.err.println("!!!!! " + message + " (" + context.getDisplayName() + ") !!!!!");
            return ConditionEvaluationResult.disabled(message);
        }
    }
}
