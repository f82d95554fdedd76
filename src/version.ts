/** The engine's version: package.json's "version" (a test checks that the two agree). */
export const ENGINE_VERSION = '0.1.0';
