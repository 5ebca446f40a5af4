declare const __CORE_VERSION__: string;
