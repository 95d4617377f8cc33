// Orders names (services, components, nodes: ASCII by their definition) by code unit. Not
// localeCompare: its first call sets up an ICU collator, about 5 ms of every cold command.
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
