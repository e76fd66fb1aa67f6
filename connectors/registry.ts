// Connector factories keyed by system name. Lambda writers import their own connector directly so
// their bundles carry one SaaS client; the local runner and CLI use this registry.
import type { Credentials } from '../runtime/config.ts';
import { HubSpotConnector } from './hubspot/index.ts';
import { SalesforceConnector } from './salesforce/index.ts';
import type { SystemName } from './systems.ts';
import type { Connector } from './types.ts';

export const CONNECTORS: { readonly [S in SystemName]: (credentials: Credentials) => Connector } = {
  salesforce: (c) => new SalesforceConnector(c.salesforce),
  hubspot: (c) => new HubSpotConnector(c.hubspot),
};
