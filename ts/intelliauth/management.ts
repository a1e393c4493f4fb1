// Seed 004's ManagementClient: a client-credentials token obtained at construction, cached and
// refreshed by the outbound token client, and thin calls under the management API's base.
import { MonoCloudValidationError } from '../errors.js';
import { tokenClientWithEnv, type MonoCloudTokenClient } from '../outbound/token-client.js';
import type { AccessTokenResult, GetAccessTokenOptions } from '../outbound/types.js';
import type { ListApplicationsOptions, ManagementClientOptions } from './types.js';

/** The management API answered with a status other than 2xx. */
export class ManagementApiError extends Error {
  readonly status: number;
  /** The answer's body, as text. */
  readonly body: string;

  constructor(status: number, body: string, path: string) {
    super(`The management API answered ${status} for ${path}`);
    this.name = 'ManagementApiError';
    this.status = status;
    this.body = body;
  }
}

/** `https://` when the tenant URL has no scheme, as the vendor's examples leave it out at times. */
export function tenantBase(tenantUrl: unknown): string {
  if (typeof tenantUrl !== 'string' || tenantUrl.trim() === '') {
    throw new MonoCloudValidationError('"tenantUrl" must be a non-empty string');
  }
  const url = tenantUrl.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`;
}

function required(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new MonoCloudValidationError(`"${name}" must be a non-empty string`);
  }
  return value;
}

export class ManagementClient {
  readonly users: { get: (id: string) => Promise<unknown> };
  readonly applications: { list: (options?: ListApplicationsOptions) => Promise<unknown> };
  readonly #tokens: MonoCloudTokenClient;
  readonly #tokenOptions: GetAccessTokenOptions;
  readonly #base: string;
  /** The grant started at construction, until a call has taken its outcome. */
  #first: Promise<AccessTokenResult> | undefined;

  constructor(options: ManagementClientOptions) {
    if (!options || typeof options !== 'object') {
      throw new MonoCloudValidationError('ManagementClient needs an options object');
    }
    const base = options.managementApiBase ?? process.env.INTELLIAUTH_MANAGEMENT_API_BASE;
    this.#base = required(base, 'managementApiBase').replace(/\/+$/, '');
    if (!URL.canParse(this.#base)) throw new MonoCloudValidationError('"managementApiBase" must be an absolute URL');
    this.#tokens = tokenClientWithEnv(
      {
        tenantDomain: tenantBase(options.tenantUrl),
        clientId: required(options.clientId, 'clientId'),
        clientSecret: required(options.clientSecret, 'clientSecret'),
        clientAuthMethod: options.clientAuthMethod ?? 'client_secret_basic',
        ...(options.refreshSkew === undefined ? {} : { refreshSkew: options.refreshSkew }),
      },
      {},
    );
    this.#tokenOptions = {
      ...(options.scopes === undefined ? {} : { scopes: options.scopes }),
      ...(options.resource === undefined ? {} : { resource: options.resource }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    };
    // The grant runs now; its failure waits for the first call rather than going unhandled.
    this.#first = this.#tokens.getAccessToken(this.#tokenOptions);
    this.#first.catch(() => undefined);
    this.users = { get: async (id) => this.#json(`users/${encodeURIComponent(required(id, 'id'))}`) };
    this.applications = {
      list: async (listOptions) => {
        const limit = listOptions?.limit;
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
          throw new MonoCloudValidationError('"limit" must be a positive integer');
        }
        return this.#json(limit === undefined ? 'applications' : `applications?limit=${limit}`);
      },
    };
  }

  /** Waits for the grant begun at construction; its failure is thrown once, then retried. */
  async #ready(): Promise<void> {
    const first = this.#first;
    if (first === undefined) return;
    try {
      await first;
    } finally {
      if (this.#first === first) this.#first = undefined;
    }
  }

  /**
   * `fetch` with the management token, for `path` under `managementApiBase`. An absolute URL is
   * refused, so the token never leaves for another origin.
   */
  async fetch(path: string, init?: RequestInit): Promise<Response> {
    if (typeof path !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
      throw new MonoCloudValidationError('ManagementClient.fetch takes a path relative to managementApiBase');
    }
    await this.#ready();
    return this.#tokens.fetch(`${this.#base}/${path.replace(/^\/+/, '')}`, init, this.#tokenOptions);
  }

  async #json(path: string): Promise<unknown> {
    const response = await this.fetch(path, { headers: { accept: 'application/json' } });
    const text = await response.text();
    if (!response.ok) throw new ManagementApiError(response.status, text, path);
    return text === '' ? null : (JSON.parse(text) as unknown);
  }
}
