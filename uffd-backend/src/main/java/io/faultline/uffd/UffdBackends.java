package io.faultline.uffd;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.uffd.UffdProbe.Mode;

/**
 * Backend selection driven by the {@link UffdProbe}: what {@code --backend auto} means.
 */
public final class UffdBackends {
    private UffdBackends() {
    }

    /**
     * A chosen backend and the one-line reason for the choice.
     *
     * @param factory     creates the heap's backend
     * @param name        {@code uffd/continue} or {@code java}
     * @param explanation one line, e.g. {@code backend uffd/continue: userfaultfd CONTINUE available (...)}
     */
    public record Selection(HeapBackend.Factory factory, String name, String explanation) {
    }

    /** {@code --backend auto}: uffd CONTINUE when the probe says it works, else the java backend. */
    public static Selection auto() {
        return auto(UffdProbe.probe());
    }

    /** {@link #auto()} for a given probe report. */
    public static Selection auto(UffdProbe.Report report) {
        UffdProbe.ModeStatus s = report.mode(Mode.CONTINUE);
        if (s.available()) {
            return new Selection(UffdBackend.factory(Mode.CONTINUE), "uffd/continue",
                "backend uffd/continue: userfaultfd CONTINUE available (" + s.detail() + ")");
        }
        return new Selection(JavaBackend.factory(), "java",
            "backend java: userfaultfd CONTINUE unavailable (" + s.detail() + ")");
    }

    /** {@code --backend uffd --mode m}: the mode's factory, or an exception with the probe's reason. */
    public static HeapBackend.Factory uffd(Mode mode) {
        UffdProbe.ModeStatus s = UffdProbe.probe().mode(mode);
        if (!s.available()) {
            throw new IllegalStateException("uffd mode " + mode + " unavailable: " + s.detail());
        }
        return UffdBackend.factory(mode);
    }
}
