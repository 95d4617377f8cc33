// Certificate serials as every part of the platform compares them (the registry's revoked
// list, the console's and the agents' handshake checks): upper-case hex without separators or
// leading zeros. A module of its own so that the console checks serials without loading X.509.
export const normalSerial = (s: string): string =>
  s
    .replace(/[^0-9a-fA-F]/g, "")
    .replace(/^0+/, "")
    .toUpperCase();
