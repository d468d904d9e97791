package io.faultline.cli;

/**
 * A bad command line: an unknown option, a missing or malformed value, or options that do not go
 * together. The message is one line that names the option and the value; {@link Main} prints it
 * and exits with {@link Main#EXIT_USAGE}.
 */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message, null, false, false);
    }
}
