// A real OpenID Provider on loopback for the OIDC login tests (tests/oidc/conftest.py starts and stops it).
// The certified `oidc-provider` package (package.json devDependencies), its development interactions (a login
// form that takes any password for a known account, then a consent form), authorization code flow with PKCE.
// Configuration from the environment, as JSON in OIDC_TEST_CONFIG:
//   {"port": 0, "clients": [{"client_id", "client_secret", "redirect_uris"}], "accounts": {"<login>": {claims}}}
// Prints "listening <issuer>" on stdout once it accepts connections.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);
const accounts = config.accounts;

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    pkce: { required: () => true },
    acrValues: [...new Set(Object.values(accounts).map((a) => a.acr).filter(Boolean))],
    scopes: ['openid', 'email', 'profile', 'org'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      org: ['uscc', 'org_name', 'region'],
    },
    // a signing key made at start (the package's development keys would do, but warn)
    jwks: { keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), use: 'sig', kid: 'test' }] },
    cookies: { keys: ['oidc-test-cookie-key'] },
    async findAccount(ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      const { acr, ...asserted } = claims;
      return { accountId: id, async claims() { return { ...asserted, sub: id }; } };
    },
  });
  provider.proxy = false;
  // An account may carry the authentication context class (`acr`) its login reaches at this provider (e.g. a
  // second factor of the provider's own): set on the development login's result, so the ID token carries it.
  const finished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = async (req, res, result, options) => {
    const acr = result.login && accounts[result.login.accountId]?.acr;
    return finished(req, res, acr ? { ...result, login: { ...result.login, acr } } : result, options);
  };
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
