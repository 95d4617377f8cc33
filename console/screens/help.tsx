// Help: every screen's keys and the `:` jumps.
import React from "react";
import { Box, Text } from "ink";
import { useNav } from "../tui/nav.ts";
import { AUDIT_KEYS } from "./audit.tsx";
import { DEPLOY_KEYS } from "./deploy.tsx";
import { GC_KEYS } from "./gc.tsx";
import { LOGS_KEYS } from "./logs.tsx";
import { MANIFEST_KEYS } from "./manifest.tsx";
import { POLICIES_KEYS } from "./policies.tsx";
import { REGISTRY_KEYS } from "./registry.tsx";
import { REPOSITORY_KEYS } from "./repository.tsx";
import { SERVICE_KEYS } from "./service.tsx";
import { SERVICES_KEYS } from "./services.tsx";

export function HelpScreen() {
  const nav = useNav();
  const lines: [string, string][] = [
    ["services", SERVICES_KEYS],
    ["service", SERVICE_KEYS],
    ["logs", LOGS_KEYS],
    ["deploy", DEPLOY_KEYS],
    ["registry", REGISTRY_KEYS],
    ["repository", REPOSITORY_KEYS],
    ["manifest", MANIFEST_KEYS],
    ["gc", GC_KEYS],
    ["policies", POLICIES_KEYS],
    ["audit", AUDIT_KEYS],
    ["jump", ":services  :service NAME  :logs NAME[/COMPONENT]  :deploy NAME  :registry  :repo NAME  :gc  :policies  :audit  :help  :q"],
    ["everywhere", "esc back  q quit  ctrl-c quit  ? help"],
  ];
  return (
    <Box flexDirection="column">
      {lines.map(([k, v]) => (
        <Text key={k} wrap="wrap">
          <Text bold>{k.padEnd(11)}</Text>
          {v}
        </Text>
      ))}
      <Text dimColor={nav.color}>NO_COLOR turns colours off. Nodes that drop are retried with backoff.</Text>
    </Box>
  );
}
