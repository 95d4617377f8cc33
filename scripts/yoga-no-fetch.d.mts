// Types of yoga-no-fetch.mjs (plain JavaScript: the build runs without tsx), for its test.
import type { Plugin } from "esbuild";

export declare const yogaWithoutFetch: Plugin;
