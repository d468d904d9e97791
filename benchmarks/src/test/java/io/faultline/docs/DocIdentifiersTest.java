package io.faultline.docs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every code identifier the docs name in backticks exists, with the value the doc states when it
 * states one. README.md and every page under docs/ are scanned; a span is checked when it looks
 * like code:
 * <ul>
 *   <li>a type, optionally with members: {@code PageProtocol}, {@code HeapConfig.DEFAULT_RUN_PAGES},
 *       {@code Mutator#setRef}, {@code UffdProbe.Mode.CONTINUE}, {@code Planner.extend(view, top)}:
 *       the type is a class of this repository (main or test sources) or of the JDK, and each member
 *       is a field, method, nested type, enum constant or record component of it;</li>
 *   <li>a constant ({@code FL_VERSION}, {@code PAGES_LEFT}, {@code UFFDIO_COPY}, {@code MAPPED}):
 *       declared in the Java or C sources (a Java field or enum constant, a C {@code #define},
 *       enumerator or struct field), or used by the demo programs, or a kernel name on the short
 *       allow-list below; a value written right after it, as in "`DEFAULT_RUN_PAGES` (64)" or
 *       "`FL_VERSION` = 6", must be the declared value;</li>
 *   <li>a C function or field in snake case ({@code fl_compact_step}, {@code serve_fault}), a Java
 *       member in camel case ({@code compactStep}): found in the sources;</li>
 *   <li>a file path ({@code uffd-backend/src/main/c/fl_protocol.c}, {@code layout.h}): the file
 *       exists;</li>
 *   <li>a command-line option ({@code --run-pages}) and every option of a {@code faultline}
 *       command line, also inside fenced blocks: accepted by that command (its {@code --help}).</li>
 * </ul>
 * The failure message names the page, the line and the identifier.
 */
class DocIdentifiersTest {
    /** Kernel, libc and hardware names the docs use that the sources need not declare. */
    private static final Set<String> KERNEL_NAMES = Set.of(
            "PTE", "TLB", "VMA", "THP", "PMD", "IPI", "NUMA", "CPU", "JVM", "JIT", "GC", "ABI", "API", "FFM", "JFR", "JMH", "JSON", "CSV",
            "PNG", "RSS", "UTC", "MINOR", "MISSING", "WP", "SIGSEGV", "SIGTERM", "SIGKILL", "SIGINT", "SIGABRT",
            "EEXIST", "EAGAIN", "EFAULT", "EBUSY", "ENOENT", "EINVAL", "EPERM", "ENOSYS", "EINTR", "ENOMEM", "ENOSPC", "EPROTO",
            "BUS_MCEERR_AR", "CONFIG_USERFAULTFD", "CONFIG_MEMORY_FAILURE", "CONFIG_HAVE_ARCH_USERFAULTFD_MINOR",
            "VM_FAULT_SIGBUS", "UFFD_API", "UFFDIO_POISON", "UFFD_FEATURE_EXACT_ADDRESS", "UFFD_FEATURE_EVENT_REMAP",
            "MADV_POPULATE_WRITE", "MADV_POPULATE_READ", "MAP_FIXED", "MAP_SHARED", "MAP_PRIVATE", "MAP_ANONYMOUS",
            "MAP_NORESERVE", "PROT_NONE", "SA_SIGINFO", "SA_ONSTACK", "SA_RESTART", "O_CLOEXEC", "O_NONBLOCK",
            "FALLOC_FL_PUNCH_HOLE", "FALLOC_FL_KEEP_SIZE", "MREMAP_DONTUNMAP", "MREMAP_MAYMOVE", "MREMAP_FIXED",
            "VmHWM", "VmRSS", "OK", "FAIL", "SKIP", "SATB", "TLAB", "MB", "KiB", "MiB", "GiB");
    /** Names in backticks that are examples or data, not code of this repository. */
    private static final Set<String> NOT_CODE = Set.of(
            "Node", "Cell", // example ObjectType names
            "INIT", // a label of the timeline in gc-cycle.md
            "io.faultline.core", // a module name (io.faultline.uffd is a package too)
            "libfaultline.so", "faultline.jar", "toolchains.xml"); // built or user files, not in the repository
    /**
     * Names and paths of the sources the docs cite that live outside this repository (AOSP ART, the
     * Linux kernel tree): cited by path and name, never linked, not checked here.
     */
    private static final Set<String> EXTERNAL_NAMES = Set.of("CompactMovingSpace", "MarkCompact", "SigbusHandler",
            "ConcurrentlyProcessMovingPage", "MapMovingSpacePages", "handle_userfault", "mark_compact.cc", "mark_compact.h");
    private static final List<String> EXTERNAL_TREES = List.of("art/", "Documentation/", "mm/", "fs/", "include/uapi/",
            "include/linux/", "runtime/", "sigchainlib/");
    /** Top-level directories of this repository: a span that starts with one is a path to check. */
    private static final List<String> REPO_DIRS = List.of("gc-core/", "uffd-backend/", "benchmarks/", "docs/", "src/", "../",
            ".ci/");
    /** JVM options the docs name; everything else with two dashes must be a faultline option. */
    private static final Set<String> JVM_OPTIONS = Set.of("--enable-native-access", "--illegal-native-access", "--add-exports",
            "--add-opens", "--help");
    private static final List<String> JDK_PACKAGES = List.of("java.lang", "java.lang.foreign", "java.lang.invoke", "java.util",
            "java.util.concurrent", "java.util.concurrent.atomic", "java.util.concurrent.locks", "java.util.function", "java.nio",
            "java.nio.channels", "java.nio.file", "java.io", "java.time", "java.lang.reflect", "java.lang.management");

    private static final Pattern TYPE_PATH = Pattern.compile("[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*(?:[.#][A-Za-z_][A-Za-z0-9_]*)*");
    private static final Pattern CONSTANT = Pattern.compile("[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*");
    private static final Pattern SNAKE = Pattern.compile("[a-z][a-z0-9]*(?:_[a-z0-9]+)+");
    private static final Pattern CAMEL = Pattern.compile("[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*");
    private static final Pattern PACKAGE = Pattern.compile("io\\.faultline(?:\\.[a-z]+)*");
    private static final Pattern OPTION = Pattern.compile("--[a-z][a-z0-9-]*");
    private static final Pattern MAN_PAGE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*\\([0-9][a-z]*\\)");
    private static final Pattern CALL = Pattern.compile("(.+?)\\((?:[^()]*)\\)");
    private static final Pattern STATED_VALUE = Pattern.compile(
            "^\\s*(?:\\(|=\\s*)(-?(?:0x[0-9a-fA-F]+|[0-9][0-9_]*(?:,[0-9]{3})*(?:\\.[0-9]+)?))\\s*(KiB|MiB|GiB|bytes|B)?\\s*(?:\\)|,|;|\\.(?:\\s|$)|$)");
    private static final Pattern VALUE_IN_SPAN = Pattern.compile("([A-Z][A-Z0-9_]*)\\s*==?\\s*(-?(?:0x[0-9a-fA-F]+|[0-9]+))");
    private static final Pattern C_DEFINE = Pattern.compile("^\\s*#define\\s+([A-Za-z_][A-Za-z0-9_]*)\\s+\\(?(-?(?:0x[0-9a-fA-F]+|[0-9]+))[uUlL]*\\)?",
            Pattern.MULTILINE);
    private static final Pattern WORD = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private static final Sources SOURCES = Sources.load();
    private static final Map<String, String> HELP = helpTexts();

    @Test
    void everyIdentifierInTheDocsExists() {
        List<String> problems = new ArrayList<>();
        for (DocPages.Page page : DocPages.all()) {
            for (DocPages.Span span : page.spans()) {
                String problem = check(span);
                if (problem != null) {
                    problems.add(span.where() + ": " + problem);
                }
            }
        }
        assertTrue(problems.isEmpty(), () -> problems.size() + " identifiers in the docs do not match the code:\n  "
                + String.join("\n  ", problems));
    }

    @Test
    void everyFaultlineCommandLineInTheDocsIsAccepted() {
        List<String> problems = new ArrayList<>();
        for (DocPages.Page page : DocPages.all()) {
            for (DocPages.Line line : page.fencedLines()) {
                String problem = checkCommand(line.text());
                if (problem != null) {
                    problems.add(line.where() + ": " + problem);
                }
            }
        }
        assertTrue(problems.isEmpty(), () -> "command lines in the docs that faultline does not accept:\n  "
                + String.join("\n  ", problems));
    }

    /** Null if the span is fine (or not code); else what is wrong. */
    static String check(DocPages.Span span) {
        String s = span.text().strip();
        if (NOT_CODE.contains(s) || EXTERNAL_NAMES.contains(s) || EXTERNAL_TREES.stream().anyMatch(s::startsWith)) {
            return null;
        }
        String command = checkCommand(s);
        if (command != null) {
            return command;
        }
        if (s.startsWith("faultline ") || s.startsWith("./faultline ")) {
            return null;
        }
        if (OPTION.matcher(s.split("[ =]")[0]).matches()) {
            return checkOption(null, s.split("[ =]")[0]);
        }
        Matcher valueInSpan = VALUE_IN_SPAN.matcher(s);
        if (valueInSpan.matches()) {
            return checkConstant(valueInSpan.group(1), valueInSpan.group(2), null);
        }
        if (MAN_PAGE.matcher(s).matches()) {
            return null; // a manual page of the kernel or libc, cited by name
        }
        Matcher call = CALL.matcher(s);
        if (call.matches() && !call.group(1).contains(" ")) {
            s = call.group(1);
        }
        if (looksLikePath(s)) {
            return SOURCES.fileExists(s) ? null : "no such file in the repository";
        }
        if (PACKAGE.matcher(s).matches()) {
            return SOURCES.packageExists(s) ? null : "no such package";
        }
        if (TYPE_PATH.matcher(s).matches()) {
            return checkTypePath(s, span.after());
        }
        if (CONSTANT.matcher(s).matches() && s.length() >= 2) {
            return checkConstant(s, statedValue(span.after()), statedUnit(span.after()));
        }
        if (SNAKE.matcher(s).matches()) {
            return SOURCES.mentions(s) || SOURCES.declares(s.toUpperCase(java.util.Locale.ROOT)) ? null
                    : "not found in the C or Java sources";
        }
        if (CAMEL.matcher(s).matches()) {
            return SOURCES.mentions(s) ? null : "not found in the Java sources";
        }
        return null;
    }

    private static boolean looksLikePath(String s) {
        if (s.startsWith("/") || s.startsWith("~") || s.contains(" ") || s.contains("*") || s.contains("<")) {
            return false;
        }
        return s.matches("[A-Za-z0-9_.\\-/]+") && !s.contains("://")
                && (REPO_DIRS.stream().anyMatch(s::startsWith) || s.matches(".*\\.(?:c|h|java|md|xml|json|csv|png|txt)"));
    }

    /** {@code Type}, {@code Type.member}, {@code Type#member}, {@code Type.Nested.member}. */
    private static String checkTypePath(String s, String after) {
        String[] parts = s.split("[.#]");
        List<Class<?>> types = SOURCES.loadableTypes(parts[0]);
        if (types.isEmpty()) {
            Path file = SOURCES.typeSource(parts[0]);
            if (file == null) {
                return "no class, record, interface or enum " + parts[0] + " in the repository or the JDK";
            }
            for (int i = 1; i < parts.length; i++) {
                if (!SOURCES.fileMentions(file, parts[i])) {
                    return parts[i] + " is not in " + DocPages.REPO.relativize(file);
                }
            }
            return null;
        }
        String firstProblem = null;
        for (Class<?> type : types) {
            String problem = checkMembers(type, parts, 1, after);
            if (problem == null) {
                return null;
            }
            firstProblem = firstProblem == null ? problem : firstProblem;
        }
        return firstProblem;
    }

    private static String checkMembers(Class<?> type, String[] parts, int from, String after) {
        Class<?> t = type;
        for (int i = from; i < parts.length; i++) {
            String name = parts[i];
            Class<?> nested = nestedType(t, name);
            if (nested != null) {
                t = nested;
                continue;
            }
            Member member = member(t, name);
            if (member == null && !(t.isRecord() && hasComponent(t, name))) {
                return name + " is not a member of " + t.getName();
            }
            if (i != parts.length - 1) {
                return name + " is a member of " + t.getName() + ", not a type";
            }
            if (member instanceof Field f) {
                String value = statedValue(after);
                if (value != null && Modifier.isStatic(f.getModifiers())) {
                    return compare(f, value, statedUnit(after));
                }
            }
        }
        return null;
    }

    private static Class<?> nestedType(Class<?> t, String name) {
        for (Class<?> c = t; c != null; c = c.getSuperclass()) {
            for (Class<?> n : c.getDeclaredClasses()) {
                if (n.getSimpleName().equals(name)) {
                    return n;
                }
            }
        }
        for (Class<?> i : t.getInterfaces()) {
            Class<?> n = nestedType(i, name);
            if (n != null) {
                return n;
            }
        }
        return null;
    }

    private static Member member(Class<?> t, String name) {
        for (Class<?> c = t; c != null; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (f.getName().equals(name)) {
                    return f;
                }
            }
            for (Method m : c.getDeclaredMethods()) {
                if (m.getName().equals(name)) {
                    return m;
                }
            }
            for (var k : c.getDeclaredConstructors()) {
                if (c.getSimpleName().equals(name)) {
                    return k;
                }
            }
        }
        for (Method m : t.getMethods()) {
            if (m.getName().equals(name)) {
                return m;
            }
        }
        for (Class<?> i : t.getInterfaces()) {
            Member m = member(i, name);
            if (m != null) {
                return m;
            }
        }
        return null;
    }

    private static boolean hasComponent(Class<?> t, String name) {
        for (var c : t.getRecordComponents()) {
            if (c.getName().equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** A constant by its simple name: a Java static field or enum constant, or a C define/enumerator/field. */
    private static String checkConstant(String name, String value, String unit) {
        if (KERNEL_NAMES.contains(name) && value == null) {
            return null;
        }
        List<Field> fields = SOURCES.staticFields(name);
        Map<String, Long> defines = SOURCES.cDefines();
        boolean declared = !fields.isEmpty() || defines.containsKey(name) || SOURCES.declares(name)
                || SOURCES.loadableTypes(name).size() > 0;
        if (!declared && !SOURCES.demosMention(name) && !SOURCES.mentions(name)) {
            return "not declared in the Java or C sources, not used by docs/demos, not a known kernel name";
        }
        if (value == null) {
            return null;
        }
        long expected;
        try {
            expected = parseValue(value, unit);
        } catch (NumberFormatException e) {
            return null;
        }
        if (fields.stream().anyMatch(f -> f.getDeclaringClass().getSimpleName().equals("ControlBlock"))) {
            return null; // a control-block word: its constant is the word's offset, the doc states its contents
        }
        List<String> seen = new ArrayList<>();
        for (Field f : fields) {
            Long v = numeric(f);
            if (v != null && v == expected) {
                return null;
            }
            seen.add(f.getDeclaringClass().getSimpleName() + "." + name + " = " + v);
        }
        if (defines.containsKey(name)) {
            if (defines.get(name) == expected) {
                return null;
            }
            seen.add("#define " + name + " " + defines.get(name));
        }
        if (seen.isEmpty()) {
            return null; // declared, but not as a number we can read (an enum constant, a struct field)
        }
        return "the doc says " + value + (unit == null ? "" : " " + unit) + ", the code says " + String.join(", ", seen);
    }

    private static String compare(Field f, String value, String unit) {
        Long v = numeric(f);
        if (v == null) {
            return null;
        }
        long expected;
        try {
            expected = parseValue(value, unit);
        } catch (NumberFormatException e) {
            return null;
        }
        return v == expected ? null
                : "the doc says " + value + (unit == null ? "" : " " + unit) + ", the code says " + f.getDeclaringClass().getSimpleName()
                + "." + f.getName() + " = " + v;
    }

    private static Long numeric(Field f) {
        try {
            f.setAccessible(true);
            Object o = f.get(null);
            if (o instanceof Number n && !(o instanceof Double) && !(o instanceof Float)) {
                return n.longValue();
            }
            if (o instanceof Enum<?> e) {
                return (long) e.ordinal();
            }
            return null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static String statedValue(String after) {
        Matcher m = STATED_VALUE.matcher(after);
        return m.find() ? m.group(1) : null;
    }

    private static String statedUnit(String after) {
        Matcher m = STATED_VALUE.matcher(after);
        return m.find() ? m.group(2) : null;
    }

    static long parseValue(String value, String unit) {
        String v = value.replace(",", "").replace("_", "");
        long n = v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
        if (unit == null) {
            return n;
        }
        return switch (unit) {
            case "KiB" -> n << 10;
            case "MiB" -> n << 20;
            case "GiB" -> n << 30;
            default -> n;
        };
    }

    /** Null if {@code text} is not a faultline command line, or every option of it is accepted. */
    static String checkCommand(String text) {
        String t = text.strip();
        if (t.startsWith("$ ")) {
            t = t.substring(2);
        }
        if (!t.startsWith("./faultline ") && !t.startsWith("faultline ")) {
            return null;
        }
        int comment = t.indexOf(" #");
        if (comment >= 0) {
            t = t.substring(0, comment);
        }
        String[] words = t.split("\\s+");
        if (words.length < 2) {
            return null;
        }
        String command = words[1];
        if (command.equals("jmh") || command.equals("...")) {
            return null;
        }
        if (!HELP.containsKey(command) && !command.startsWith("-")) {
            return "'" + command + "' is not a faultline command";
        }
        for (int i = 2; i < words.length; i++) {
            String w = words[i].split("=")[0];
            if (OPTION.matcher(w).matches()) {
                String problem = checkOption(command, w);
                if (problem != null) {
                    return problem;
                }
            }
        }
        return null;
    }

    private static String checkOption(String command, String option) {
        if (JVM_OPTIONS.contains(option)) {
            return null;
        }
        if (command != null && !command.startsWith("-")) {
            String help = HELP.get(command);
            return help != null && Pattern.compile(Pattern.quote(option) + "\\b").matcher(help).find() ? null
                    : "faultline " + command + " does not accept " + option + " (see faultline " + command + " --help)";
        }
        for (String help : HELP.values()) {
            if (Pattern.compile(Pattern.quote(option) + "(?![a-z0-9-])").matcher(help).find()) {
                return null;
            }
        }
        return "no faultline command accepts " + option;
    }

    /** The help text of every faultline command, by command name. */
    private static Map<String, String> helpTexts() {
        Map<String, String> help = new HashMap<>();
        for (String command : List.of("run", "probe", "compare", "demo")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                 PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
                Main.run(new String[] {command, "--help"}, o, e);
            }
            help.put(command, out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
        }
        help.put("help", Main.usage());
        return help;
    }

    /** The repository's sources, indexed for the checks. */
    static final class Sources {
        private final Map<String, List<Path>> typeFiles = new HashMap<>();
        private final Map<Path, String> texts = new HashMap<>();
        private final Map<String, List<Class<?>>> loadable = new HashMap<>();
        private final Set<String> words = new HashSet<>();
        private final Set<String> declared = new HashSet<>();
        private final Set<String> demoWords = new HashSet<>();
        private final Map<String, Long> defines = new HashMap<>();
        private final Set<Path> files = new LinkedHashSet<>();

        static Sources load() {
            Sources s = new Sources();
            try (Stream<Path> all = Files.walk(DocPages.REPO)) {
                all.filter(Files::isRegularFile)
                        .filter(p -> !DocPages.REPO.relativize(p).toString().startsWith(".")
                                && !p.toString().contains("/target/") && !p.toString().contains("/.git/"))
                        .forEach(s::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return s;
        }

        private void add(Path p) {
            files.add(p);
            String name = p.getFileName().toString();
            boolean java = name.endsWith(".java");
            boolean c = name.endsWith(".c") || name.endsWith(".h");
            if (!java && !c) {
                return;
            }
            String text;
            try {
                text = Files.readString(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            texts.put(p, text);
            boolean demo = DocPages.REPO.relativize(p).startsWith("docs/demos");
            Matcher w = WORD.matcher(text);
            while (w.find()) {
                (demo ? demoWords : words).add(w.group());
            }
            if (demo) {
                return;
            }
            if (java) {
                Matcher m = Pattern.compile("\\b(?:class|interface|enum|record)\\s+([A-Z][A-Za-z0-9_]*)").matcher(text);
                while (m.find()) {
                    typeFiles.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(p);
                }
                Matcher d = Pattern.compile("\\b([A-Z][A-Z0-9_]*)\\s*(?:=|[,;(]|\\{|$)", Pattern.MULTILINE).matcher(text);
                while (d.find()) {
                    declared.add(d.group(1));
                }
                Matcher pkg = Pattern.compile("^package\\s+([a-z.]+);", Pattern.MULTILINE).matcher(text);
                if (pkg.find() && p.toString().contains("/src/main/java/")) {
                    String top = pkg.group(1) + "." + name.substring(0, name.length() - 5);
                    try {
                        index(Class.forName(top, false, getClass().getClassLoader()));
                    } catch (ClassNotFoundException | LinkageError e) {
                        // not on this module's class path: checked by source text
                    }
                }
            } else {
                Matcher d = C_DEFINE.matcher(text);
                while (d.find()) {
                    try {
                        String v = d.group(2);
                        defines.put(d.group(1), v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v));
                    } catch (NumberFormatException e) {
                        // a define that is not a plain number
                    }
                }
                Matcher names = Pattern.compile("#define\\s+([A-Za-z_][A-Za-z0-9_]*)").matcher(text);
                while (names.find()) {
                    declared.add(names.group(1));
                }
            }
        }

        private void index(Class<?> c) {
            loadable.computeIfAbsent(c.getSimpleName(), k -> new ArrayList<>()).add(c);
            for (Class<?> n : c.getDeclaredClasses()) {
                index(n);
            }
        }

        List<Class<?>> loadableTypes(String simpleName) {
            List<Class<?>> out = new ArrayList<>(loadable.getOrDefault(simpleName, List.of()));
            if (out.isEmpty() && typeSource(simpleName) == null) {
                for (String pkg : JDK_PACKAGES) {
                    try {
                        out.add(Class.forName(pkg + "." + simpleName));
                        break;
                    } catch (ClassNotFoundException e) {
                        // try the next package
                    }
                }
            }
            return out;
        }

        Path typeSource(String simpleName) {
            List<Path> f = typeFiles.get(simpleName);
            return f == null ? null : f.getFirst();
        }

        boolean fileMentions(Path file, String word) {
            for (Path p : typeFiles.getOrDefault(file.getFileName().toString().replace(".java", ""), List.of(file))) {
                if (Pattern.compile("\\b" + Pattern.quote(word) + "\\b").matcher(texts.get(p)).find()) {
                    return true;
                }
            }
            return Pattern.compile("\\b" + Pattern.quote(word) + "\\b").matcher(texts.get(file)).find();
        }

        List<Field> staticFields(String name) {
            List<Field> out = new ArrayList<>();
            for (List<Class<?>> cs : loadable.values()) {
                for (Class<?> c : cs) {
                    try {
                        Field f = c.getDeclaredField(name);
                        if (Modifier.isStatic(f.getModifiers())) {
                            out.add(f);
                        }
                    } catch (NoSuchFieldException | LinkageError e) {
                        // not here
                    }
                }
            }
            return out;
        }

        Map<String, Long> cDefines() {
            return defines;
        }

        boolean declares(String name) {
            return declared.contains(name);
        }

        boolean mentions(String word) {
            return words.contains(word);
        }

        boolean demosMention(String word) {
            return demoWords.contains(word);
        }

        boolean packageExists(String pkg) {
            String dir = pkg.replace('.', '/');
            return files.stream().anyMatch(p -> p.getParent().toString().endsWith("/" + dir));
        }

        boolean fileExists(String path) {
            String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
            while (p.startsWith("../")) {
                p = p.substring(3); // relative to a page under docs/: looked up inside the repository only
            }
            if (p.contains("...")) {
                String[] ends = p.split("\\.\\.\\.", 2);
                return files.stream().map(f -> DocPages.REPO.relativize(f).toString())
                        .anyMatch(f -> f.startsWith(ends[0]) && f.endsWith(ends[1]));
            }
            if (Files.exists(DocPages.REPO.resolve(p)) || Files.exists(DocPages.REPO.resolve("docs").resolve(p))) {
                return true;
            }
            String q = p;
            return files.stream().anyMatch(f -> f.toString().endsWith("/" + q) || f.toString().contains("/" + q + "/"));
        }
    }
}
