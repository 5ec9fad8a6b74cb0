export const CLIENT_FILE: URL;
export function clientSource(document: unknown): Promise<string>;
