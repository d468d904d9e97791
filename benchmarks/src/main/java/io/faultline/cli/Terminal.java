package io.faultline.cli;

import java.io.Console;
import java.io.PrintStream;

/**
 * Whether a command's output stream is an interactive terminal, where a line may be redrawn in
 * place (ANSI escapes, carriage return). Only the process's own {@code System.out} can be one, and
 * only when the JVM has a console whose streams are a terminal ({@link Console#isTerminal()});
 * anything else (a file, a pipe, a test's captured stream) gets plain lines.
 */
final class Terminal {
    private Terminal() {
    }

    /** True if {@code out} is this process's stdout and stdout is a terminal. */
    static boolean isTerminal(PrintStream out) {
        Console console = System.console();
        return out == System.out && console != null && console.isTerminal();
    }
}
