// Imported first by a test that loads Ink statically and also runs the real runTui: Ink
// reads $CI once, when it is loaded, and with CI set (as on CI) draws only the last frame;
// the console switches that guess off before it loads Ink (console/tty/terminal.ts), and so
// must such a test, before its other imports load Ink.
import { claimTerminal } from "../../console/tty/terminal.ts";

claimTerminal();
