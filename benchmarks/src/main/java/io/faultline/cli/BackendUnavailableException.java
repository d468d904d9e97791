package io.faultline.cli;

/**
 * A well-formed command line asks for a backend this machine cannot provide (e.g.
 * {@code --backend uffd --mode move} on a kernel without {@code UFFDIO_MOVE}). The message is
 * one line with the probe's reason; {@link RunCommand} prints it and exits with
 * {@link Main#EXIT_FAILED}: the command was right, the run cannot happen here.
 */
public final class BackendUnavailableException extends RuntimeException {
    public BackendUnavailableException(String message) {
        super(message, null, false, false);
    }
}
