// A validated service definition as the agent's RPC message (DeployRequest, SyncRequest),
// used by the console to send it and by the agent's tests; the agent reads it back with
// agent/rpc/convert.ts's definitionFromProto. Every field is named: a field the definition
// gains and this file does not send is a compile error (noFieldLeft), never a silent drop.
import type { ComponentDefinition, RouteDefinition, ServiceDefinition } from "./definition.ts";

/** Takes what is left after the fields were taken apart: nothing, or the build fails. */
function noFieldLeft(_rest: Record<string, never>): void {}

function routeToProto(r: RouteDefinition) {
  const { name, port, mode, hostname, index, ...rest } = r;
  noFieldLeft(rest);
  return { name, port, mode, hostname, index };
}

function componentToProto(c: ComponentDefinition) {
  const { name, image, version, volumes, cmd, network, user, restart, env, routes, ...rest } = c;
  noFieldLeft(rest);
  return { name, image, version, volumes: [...volumes], cmd: [...cmd], network, user, restart, env: { ...env }, routes: routes.map(routeToProto) };
}

export function definitionToProto(d: ServiceDefinition) {
  const { name, node, version, active, environment, number, storage, components, ...rest } = d;
  noFieldLeft(rest);
  const { nfs, nfsOptions, ...storageRest } = storage;
  noFieldLeft(storageRest);
  return { name, node, version, active, environment, number, nfsExport: nfs, nfsOptions, components: components.map(componentToProto) };
}
