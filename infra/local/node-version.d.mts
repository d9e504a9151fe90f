export declare const MIN_NODE_VERSION: string;
export declare function nodeVersionProblem(version: string, program?: string): string | undefined;
export declare function exitIfUnsupportedNode(program?: string): void;
