import { describe, expect, it } from 'vitest';
import {
  ACK_XML,
  MAX_BODY_BYTES,
  nackFault,
  type OutboundMessage,
  parseOutboundMessage,
  toNotices,
  verifyOutbound,
} from '../connectors/salesforce/outbound.ts';

const ORG = '00D5e000000KQ2eEAG';
const SECRET = 'k3v9-long-random-path-secret-0123456789';

interface Sample {
  notificationId: string;
  type: string;
  fields: Record<string, string | null>;
}

const JANE: Sample = {
  notificationId: '04l5e00000Gx7QzAAJ',
  type: 'Contact',
  fields: { Id: '0035e00000ZkM3hAAF', Email: 'jane@example.com', SystemModstamp: '2024-01-02T10:11:12.000Z' },
};

/** The reference envelope (A7.1), with `soapenv:`/`sf:` prefixes or with default namespaces only. */
function envelope(notes: readonly Sample[], opts: { prefixes?: boolean; org?: string } = {}): string {
  const p = opts.prefixes === false ? '' : 'soapenv:';
  const f = opts.prefixes === false ? '' : 'sf:';
  const sfns =
    opts.prefixes === false
      ? 'xmlns="urn:sobject.enterprise.soap.sforce.com"'
      : 'xmlns:sf="urn:sobject.enterprise.soap.sforce.com"';
  const body = notes
    .map(
      (n) => `   <Notification>
    <Id>${n.notificationId}</Id>
    <sObject xsi:type="sf:${n.type}" ${sfns}>
${Object.entries(n.fields)
  .map(([k, v]) => (v === null ? `     <${f}${k} xsi:nil="true"/>` : `     <${f}${k}>${v}</${f}${k}>`))
  .join('\n')}
    </sObject>
   </Notification>`,
    )
    .join('\n');
  const envNs = opts.prefixes === false ? 'xmlns' : 'xmlns:soapenv';
  return `<?xml version="1.0" encoding="UTF-8"?>
<${p}Envelope ${envNs}="http://schemas.xmlsoap.org/soap/envelope/"
                  xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <${p}Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${opts.org ?? ORG}</OrganizationId>
   <ActionId>04k5e000000CaRkAAK</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/59.0/00D5e000000KQ2e</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/59.0/00D5e000000KQ2e</PartnerUrl>
${body}
  </notifications>
 </${p}Body>
</${p}Envelope>`;
}

function parsed(xml: string): OutboundMessage {
  const result = parseOutboundMessage(xml);
  if ('error' in result) throw new Error(`unexpected parse error: ${result.error}`);
  return result;
}

function errorOf(xml: string): string {
  const result = parseOutboundMessage(xml);
  if (!('error' in result)) throw new Error('expected a parse error');
  return result.error;
}

function contact(i: number): Sample {
  const n = String(i).padStart(4, '0');
  return {
    notificationId: `04l5e00000G${n}AAJ`,
    type: 'Contact',
    fields: { Id: `0035e00000Z${n}AAF`, SystemModstamp: '2024-01-02T10:11:12.000Z' },
  };
}

describe('parseOutboundMessage', () => {
  it('reads the reference envelope, nil SessionId included', () => {
    expect(parsed(envelope([JANE]))).toEqual({
      organizationId: ORG,
      actionId: '04k5e000000CaRkAAK',
      notifications: [
        {
          notificationId: '04l5e00000Gx7QzAAJ',
          sobjectType: 'Contact',
          id: '0035e00000ZkM3hAAF',
          systemModstamp: '2024-01-02T10:11:12.000Z',
          fields: JANE.fields,
        },
      ],
    });
  });

  it('reads the same message without namespace prefixes', () => {
    expect(parsed(envelope([JANE], { prefixes: false }))).toEqual(parsed(envelope([JANE])));
  });

  it('reads several notifications of different sObjects, nil and escaped values', () => {
    const account: Sample = {
      notificationId: '04l5e00000Gx7R0AAJ',
      type: 'Account',
      fields: { Id: '0015e00000AbCdEAAV', Name: 'Smith &amp; Sons', Phone: null },
    };
    const deal: Sample = {
      notificationId: '04l5e00000Gx7R1AAJ',
      type: 'Opportunity',
      fields: { Id: '0065e00000XyZzYAAV', SystemModstamp: '2024-01-03T00:00:00.000Z' },
    };
    const message = parsed(envelope([JANE, account, deal]));
    expect(message.notifications.map((n) => [n.sobjectType, n.id])).toEqual([
      ['Contact', '0035e00000ZkM3hAAF'],
      ['Account', '0015e00000AbCdEAAV'],
      ['Opportunity', '0065e00000XyZzYAAV'],
    ]);
    expect(message.notifications[1]?.fields).toEqual({
      Id: '0015e00000AbCdEAAV',
      Name: 'Smith & Sons',
      Phone: null,
    });
    expect(message.notifications[1]).not.toHaveProperty('systemModstamp');
  });

  it('accepts 100 notifications and rejects 101', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => contact(i));
    expect(parsed(envelope(hundred)).notifications).toHaveLength(100);
    expect(errorOf(envelope([...hundred, contact(100)]))).toMatch(/more than 100 notifications/);
  });

  it('rejects malformed XML, non-SOAP bodies and a wrong root with a clear error', () => {
    expect(errorOf(envelope([JANE]).replace('</sObject>', ''))).toMatch(/^malformed XML/);
    expect(errorOf('')).toMatch(/not a SOAP message/);
    expect(errorOf('{"OrganizationId":"00D5e000000KQ2eEAG"}')).toMatch(/malformed XML|not a SOAP message/);
    expect(errorOf('<notifications><OrganizationId>x</OrganizationId></notifications>')).toMatch(
      /not a SOAP message: expected an Envelope root/,
    );
    const otherCall = envelope([JANE]).replace(/notifications/g, 'login');
    expect(errorOf(otherCall)).toMatch(/not a Salesforce outbound message.*notifications/);
  });

  it('rejects a message without notifications, a bad id or a missing xsi:type', () => {
    expect(errorOf(envelope([]))).toMatch(/invalid notifications: Notification/);
    expect(errorOf(envelope([{ ...JANE, fields: { Email: 'x@y.z' } }]))).toMatch(/sObject\.Id/);
    expect(errorOf(envelope([JANE], { org: 'not-an-org' }))).toMatch(/OrganizationId: not a Salesforce Id/);
    expect(errorOf(envelope([JANE]).replace('xsi:type="sf:Contact"', ''))).toMatch(/no xsi:type/);
  });

  it('refuses a DOCTYPE (entity expansion) and oversized bodies', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>${envelope([JANE]).replace(/^<\?xml[^>]*>/, '')}`;
    expect(errorOf(bomb)).toMatch(/DOCTYPE/);
    expect(errorOf(envelope([JANE]) + ' '.repeat(MAX_BODY_BYTES))).toMatch(/larger than/);
  });

  it('refuses element names that could pollute prototypes', () => {
    for (const name of ['__proto__', 'constructor']) {
      const hostile = envelope([JANE]).replace('<sf:Email>', `<sf:${name}>a</sf:${name}><sf:Email>`);
      expect(errorOf(hostile)).toMatch(new RegExp(`^malformed XML: .*${name}`));
    }
  });
});

describe('verifyOutbound', () => {
  const message = parsed(envelope([JANE]));

  it('accepts the configured org by its 18- or 15-character Id and the right secret', () => {
    expect(verifyOutbound(message, { organizationId: ORG, secret: SECRET }, SECRET)).toEqual({ ok: true });
    expect(verifyOutbound(message, { organizationId: ORG.slice(0, 15), secret: SECRET }, SECRET)).toEqual({
      ok: true,
    });
  });

  it('rejects another org, including one differing only in case', () => {
    const other = { organizationId: '00D5e000000XXXXEAG', secret: SECRET };
    expect(verifyOutbound(message, other, SECRET)).toMatchObject({
      ok: false,
      reason: /not the configured org/,
    });
    const cased = { organizationId: ORG.slice(0, 15).toLowerCase(), secret: SECRET };
    expect(verifyOutbound(message, cased, SECRET).ok).toBe(false);
  });

  it('rejects a wrong secret, of the same or another length, and an unset one', () => {
    const settings = { organizationId: ORG, secret: SECRET };
    const sameLength = `${SECRET.slice(0, -1)}x`;
    expect(verifyOutbound(message, settings, sameLength)).toMatchObject({
      ok: false,
      reason: /wrong secret/,
    });
    expect(verifyOutbound(message, settings, 'short')).toMatchObject({ ok: false, reason: /wrong secret/ });
    expect(verifyOutbound(message, settings, '')).toMatchObject({ ok: false });
    expect(verifyOutbound(message, { organizationId: ORG, secret: '' }, '')).toMatchObject({
      ok: false,
      reason: /no webhook secret/,
    });
  });

  it('rejects a misconfigured org Id', () => {
    expect(verifyOutbound(message, { organizationId: '00D5e', secret: SECRET }, SECRET)).toMatchObject({
      ok: false,
      reason: /15 or 18/,
    });
  });
});

describe('responses', () => {
  it('ACK_XML is the SOAP acknowledgement Salesforce expects', () => {
    expect(ACK_XML).toBe(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>`);
  });

  it('nackFault is a SOAP fault with the message escaped', () => {
    const fault = nackFault('bad <org> & "secret"');
    expect(fault).toContain('<soapenv:Fault>');
    expect(fault).toContain('<faultcode>soapenv:Client</faultcode>');
    expect(fault).toContain('<faultstring>bad &#60;org&#62; &#38; &#34;secret&#34;</faultstring>');
    expect(nackFault('down', 'Server')).toContain('<faultcode>soapenv:Server</faultcode>');
    // Not an ack, so Salesforce keeps retrying.
    expect(fault).not.toContain('<Ack>');
  });
});

describe('toNotices', () => {
  it('maps Contact, Account and Opportunity, skips other sObjects, keeps the notification Id', () => {
    const lead: Sample = {
      notificationId: '04l5e00000Gx7R2AAJ',
      type: 'Lead',
      fields: { Id: '00Q5e00000AbCdEAAV' },
    };
    const account: Sample = {
      notificationId: '04l5e00000Gx7R0AAJ',
      type: 'Account',
      fields: { Id: '0015e00000AbCdEAAV', LastModifiedDate: '2024-01-04T00:00:00.000+0000' },
    };
    const deal: Sample = {
      notificationId: '04l5e00000Gx7R1AAJ',
      type: 'Opportunity',
      fields: { Id: '0065e00000XyZzYAAV' },
    };
    const notices = toNotices(parsed(envelope([JANE, lead, account, deal])), 1234);
    expect(notices).toEqual([
      {
        system: 'salesforce',
        object: 'contact',
        externalId: '0035e00000ZkM3hAAF',
        occurredAt: Date.parse('2024-01-02T10:11:12.000Z'),
        eventId: '04l5e00000Gx7QzAAJ',
        kind: 'change',
      },
      {
        system: 'salesforce',
        object: 'company',
        externalId: '0015e00000AbCdEAAV',
        occurredAt: Date.parse('2024-01-04T00:00:00.000Z'),
        eventId: '04l5e00000Gx7R0AAJ',
        kind: 'change',
      },
      {
        system: 'salesforce',
        object: 'deal',
        externalId: '0065e00000XyZzYAAV',
        occurredAt: 1234,
        eventId: '04l5e00000Gx7R1AAJ',
        kind: 'change',
      },
    ]);
  });
});
