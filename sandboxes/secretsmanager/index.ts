// A Secrets Manager stand-in on 127.0.0.1 for the tests of `fieldsync secrets set` and of the
// functions' credential loading: the AWS JSON 1.1 protocol (POST /, X-Amz-Target:
// secretsmanager.<Action>) for the actions fieldsync uses, with the service's error shapes, so the
// real @aws-sdk/client-secrets-manager talks to it through its endpoint setting.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, listen, readBody, sendJson } from '../http.ts';

interface StoredSecret {
  arn: string;
  name: string;
  description?: string;
  versions: { id: string; value: string; createdAt: number }[];
}

export interface SecretsManagerSandbox {
  url: string;
  region: string;
  /** The current value of a secret by name or ARN (tests read what a command wrote). */
  value(id: string): string | undefined;
  /** Requests by action, e.g. { GetSecretValue: 2, PutSecretValue: 1 }. */
  calls: Record<string, number>;
  close(): Promise<void>;
}

const ACCOUNT = '123456789012';

class ServiceError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

export async function startSecretsManagerSandbox(
  options: { port?: number; region?: string } = {},
): Promise<SecretsManagerSandbox> {
  const region = options.region ?? 'eu-west-1';
  const secrets = new Map<string, StoredSecret>();
  const calls: Record<string, number> = {};

  const find = (id: unknown): StoredSecret => {
    if (typeof id !== 'string' || id === '')
      throw new ServiceError('InvalidParameterException', 'SecretId is required');
    const s = secrets.get(id) ?? [...secrets.values()].find((x) => x.arn === id);
    if (s === undefined)
      throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  };
  const stringValue = (v: unknown): string => {
    if (typeof v !== 'string')
      throw new ServiceError('InvalidParameterException', 'SecretString is required');
    if (Buffer.byteLength(v) > 65_536)
      throw new ServiceError('InvalidParameterException', 'SecretString must be at most 65536 bytes');
    return v;
  };
  const addVersion = (s: StoredSecret, value: string): string => {
    const id = randomUUID();
    s.versions.push({ id, value, createdAt: Date.now() });
    return id;
  };

  const actions: Record<string, (input: Record<string, unknown>) => unknown> = {
    CreateSecret(input) {
      const name = input.Name;
      if (typeof name !== 'string' || !/^[\w/+=.@-]{1,512}$/.test(name))
        throw new ServiceError('InvalidParameterException', 'Name must be 1-512 of [A-Za-z0-9/_+=.@-]');
      if (secrets.has(name))
        throw new ServiceError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      const arn = `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`;
      const s: StoredSecret = {
        arn,
        name,
        versions: [],
        ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
      };
      const versionId = addVersion(s, stringValue(input.SecretString));
      secrets.set(name, s);
      return { ARN: arn, Name: name, VersionId: versionId };
    },
    GetSecretValue(input) {
      const s = find(input.SecretId);
      const v = s.versions.at(-1);
      if (v === undefined) throw new ServiceError('ResourceNotFoundException', 'The secret has no value.');
      return {
        ARN: s.arn,
        Name: s.name,
        SecretString: v.value,
        VersionId: v.id,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: v.createdAt / 1000,
      };
    },
    PutSecretValue(input) {
      const s = find(input.SecretId);
      const versionId = addVersion(s, stringValue(input.SecretString));
      return { ARN: s.arn, Name: s.name, VersionId: versionId, VersionStages: ['AWSCURRENT'] };
    },
    DescribeSecret(input) {
      const s = find(input.SecretId);
      return { ARN: s.arn, Name: s.name, Description: s.description };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const reply = (status: number, body: unknown, type?: string) =>
      sendJson(res, status, body, type ? { 'x-amzn-ErrorType': type } : {}, 'application/x-amz-json-1.1');
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
      if (req.method !== 'POST' || !(action in actions))
        throw new ServiceError('UnknownOperationException', `unknown operation '${target}'`);
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 '))
        throw new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token');
      calls[action] = (calls[action] ?? 0) + 1;
      let input: unknown;
      try {
        input = JSON.parse(await readBody(req, 1024 * 1024));
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw new ServiceError('InvalidRequestException', err.message);
        throw new ServiceError('SerializationException', 'request body is not JSON');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        throw new ServiceError('SerializationException', 'request body must be a JSON object');
      reply(200, actions[action]?.(input as Record<string, unknown>));
    } catch (err) {
      if (err instanceof ServiceError) reply(400, { __type: err.type, message: err.message }, err.type);
      else reply(500, { __type: 'InternalServiceError', message: String(err) }, 'InternalServiceError');
    }
  };

  const server = await listen((req, res) => void handle(req, res), options.port ?? 0);
  return {
    url: server.url,
    region,
    calls,
    value: (id) => {
      try {
        return find(id).versions.at(-1)?.value;
      } catch {
        return undefined;
      }
    },
    close: () => server.close(),
  };
}
