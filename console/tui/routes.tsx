// The TUI's screens by route: each route's screen, its title in the header and its keys in
// the footer. The app (app.tsx) shows the route on top of its stack through these.
import type { ReactNode } from "react";
import { AuditScreen, AUDIT_KEYS } from "../screens/audit.tsx";
import { CheckScreen, CHECK_KEYS } from "../screens/check.tsx";
import { CommandsScreen, COMMANDS_KEYS } from "../screens/commands.tsx";
import { DeployScreen, DEPLOY_KEYS } from "../screens/deploy.tsx";
import { DescribeScreen, DESCRIBE_KEYS } from "../screens/describe.tsx";
import { EventsScreen, EVENTS_KEYS } from "../screens/events.tsx";
import { GcScreen, GC_KEYS } from "../screens/gc.tsx";
import { HelpScreen, HELP_KEYS } from "../screens/help.tsx";
import { HistoryScreen, HISTORY_KEYS } from "../screens/history.tsx";
import { LogsScreen, LOGS_KEYS } from "../screens/logs.tsx";
import { NodesScreen, NODES_KEYS } from "../screens/nodes.tsx";
import { ManifestScreen, MANIFEST_KEYS } from "../screens/manifest.tsx";
import { PoliciesScreen, POLICIES_KEYS } from "../screens/policies.tsx";
import { RegistryScreen, REGISTRY_KEYS } from "../screens/registry.tsx";
import { RepositoryScreen, REPOSITORY_KEYS } from "../screens/repository.tsx";
import { ServiceScreen, SERVICE_KEYS } from "../screens/service.tsx";
import { ServicesScreen, SERVICES_KEYS } from "../screens/services.tsx";
import type { ConsoleStore } from "../store/state.ts";
import type { Route } from "./nav.ts";

const TITLES: Record<Route["screen"], string> = {
  services: "services",
  service: "service",
  logs: "logs",
  deploy: "deploy",
  describe: "describe",
  help: "help",
  registry: "registry",
  repository: "repository",
  manifest: "manifest",
  gc: "gc",
  check: "check",
  policies: "policies",
  audit: "audit",
  nodes: "nodes",
  events: "events",
  history: "history",
  commands: "commands",
};
export const KEYS: Record<Route["screen"], string> = {
  services: SERVICES_KEYS,
  service: SERVICE_KEYS,
  logs: LOGS_KEYS,
  deploy: DEPLOY_KEYS,
  describe: DESCRIBE_KEYS,
  help: HELP_KEYS,
  registry: REGISTRY_KEYS,
  repository: REPOSITORY_KEYS,
  manifest: MANIFEST_KEYS,
  gc: GC_KEYS,
  check: CHECK_KEYS,
  policies: POLICIES_KEYS,
  audit: AUDIT_KEYS,
  nodes: NODES_KEYS,
  events: EVENTS_KEYS,
  history: HISTORY_KEYS,
  commands: COMMANDS_KEYS,
};

/** The screen of `route`. */
export function routeBody(route: Route, store: ConsoleStore): ReactNode {
  return route.screen === "services" ? (
    <ServicesScreen store={store} />
  ) : route.screen === "service" ? (
    <ServiceScreen key={route.service} store={store} service={route.service} />
  ) : route.screen === "logs" ? (
    <LogsScreen key={route.target} store={store} target={route.target} />
  ) : route.screen === "deploy" ? (
    <DeployScreen key={route.service} store={store} service={route.service} />
  ) : route.screen === "describe" ? (
    <DescribeScreen key={route.target} store={store} target={route.target} />
  ) : route.screen === "registry" ? (
    <RegistryScreen store={store} />
  ) : route.screen === "repository" ? (
    <RepositoryScreen key={route.repo} store={store} repo={route.repo} />
  ) : route.screen === "manifest" ? (
    <ManifestScreen key={`${route.repo}:${route.reference}`} store={store} repo={route.repo} reference={route.reference} />
  ) : route.screen === "gc" ? (
    <GcScreen store={store} />
  ) : route.screen === "check" ? (
    <CheckScreen store={store} />
  ) : route.screen === "policies" ? (
    <PoliciesScreen store={store} />
  ) : route.screen === "audit" ? (
    <AuditScreen store={store} />
  ) : route.screen === "nodes" ? (
    <NodesScreen store={store} />
  ) : route.screen === "history" ? (
    <HistoryScreen key={route.service} store={store} service={route.service} />
  ) : route.screen === "commands" ? (
    <CommandsScreen store={store} />
  ) : route.screen === "events" ? (
    <EventsScreen store={store} />
  ) : (
    <HelpScreen />
  );
}

/** The header's title for `route`. */
export function routeTitle(route: Route): string {
  return route.screen === "service"
    ? `service ${route.service}`
    : route.screen === "logs"
      ? `logs ${route.target}`
      : route.screen === "deploy"
        ? `deploy ${route.service}`
        : route.screen === "history"
          ? `history ${route.service}`
          : route.screen === "repository"
            ? `registry ${route.repo}`
            : route.screen === "manifest"
              ? `registry ${route.repo}:${route.reference}`
              : route.screen === "describe"
                ? `describe ${route.target}`
                : TITLES[route.screen];
}
