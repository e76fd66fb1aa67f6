// Connector factories keyed by system name. Lambda writers import their own connector directly so
// their bundles carry one SaaS client; the local runner and CLI use this registry.
import type { ResolvedConfig } from '../config/index.ts';
import type { Credentials } from '../runtime/config.ts';
import { HubSpotConnector } from './hubspot/index.ts';
import { SalesforceConnector } from './salesforce/index.ts';
import type { SystemName } from './systems.ts';
import type { Connector } from './types.ts';

export const CONNECTORS: {
  readonly [S in SystemName]: (credentials: Credentials, config: ResolvedConfig) => Connector;
} = {
  salesforce: (c, config) => new SalesforceConnector(c.salesforce, config.systems.salesforce),
  hubspot: (c, config) => new HubSpotConnector(c.hubspot, config.systems.hubspot),
};
