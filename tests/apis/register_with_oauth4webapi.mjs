// Registers a client with oauth4webapi (RFC 8414 discovery, RFC 7591 registration with an
// initial access token) and gets a token with it; prints the result as one JSON line.
// Usage: node register_with_oauth4webapi.mjs ISSUER INITIAL_ACCESS_TOKEN
import * as oauth from "oauth4webapi";

const [issuerUrl, initialAccessToken] = process.argv.slice(2);
const insecure = { [oauth.allowInsecureRequests]: true };
const issuer = new URL(issuerUrl);
const as = await oauth
  .discoveryRequest(issuer, { algorithm: "oauth2", ...insecure })
  .then((response) => oauth.processDiscoveryResponse(issuer, response));
const registered = await oauth.dynamicClientRegistrationRequest(
  as,
  {
    client_name: "oauth4webapi client",
    grant_types: ["client_credentials"],
    token_endpoint_auth_method: "client_secret_basic",
    scope: "viewer",
  },
  { initialAccessToken, ...insecure },
);
const client = await oauth.processDynamicClientRegistrationResponse(registered);
const response = await oauth.clientCredentialsGrantRequest(
  as,
  client,
  oauth.ClientSecretBasic(client.client_secret),
  new URLSearchParams({ scope: "viewer" }),
  insecure,
);
const result = await oauth.processClientCredentialsResponse(as, client, response);
console.log(
  JSON.stringify({
    registration_endpoint: as.registration_endpoint,
    client_id: client.client_id,
    registration_client_uri: client.registration_client_uri,
    registration_access_token: client.registration_access_token,
    access_token: result.access_token,
    scope: result.scope,
  }),
);
