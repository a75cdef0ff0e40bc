// DPoP with oauth4webapi against a real `gatehouse serve` (tests/sender/test_oauth4webapi.py).
//
//   node dpop.mjs ISSUER CLIENT_ID CLIENT_SECRET API_URL
//
// Discovers the authorization server (RFC 8414), gets a DPoP-bound token with the client
// credentials grant (RFC 9449 §5, following a use_dpop_nonce answer as oauth4webapi does, §8),
// calls API_URL with it (§7), and prints one JSON line of what happened. Every proof is made
// by oauth4webapi with a WebCrypto ES256 key; nothing here is Gatehouse code.
import * as oauth from 'oauth4webapi'

const [issuerUrl, clientId, clientSecret, apiUrl] = process.argv.slice(2)
const insecure = { [oauth.allowInsecureRequests]: true } // the test server speaks plain HTTP
const issuer = new URL(issuerUrl)
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
)
const client = { client_id: clientId }
const clientAuth = oauth.ClientSecretBasic(clientSecret)
const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
const nonceErrors = []

// One retry after a use_dpop_nonce error: the DPoP handle has kept the server's new nonce.
async function withNonceRetry (what, attempt) {
  try {
    return await attempt()
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    nonceErrors.push(what)
    return await attempt()
  }
}

const token = await withNonceRetry('token', async () => {
  const response = await oauth.clientCredentialsGrantRequest(
    as, client, clientAuth, {}, { DPoP, ...insecure },
  )
  return oauth.processClientCredentialsResponse(as, client, response)
})
const api = await withNonceRetry('api', () => oauth.protectedResourceRequest(
  token.access_token, 'GET', new URL(apiUrl), new Headers(), null, { DPoP, ...insecure },
))

console.log(JSON.stringify({
  token_endpoint: as.token_endpoint,
  token_type: token.token_type,
  access_token: token.access_token,
  jkt: await DPoP.calculateThumbprint(),
  nonce_errors: nonceErrors,
  api_status: api.status,
  api_body: await api.json(),
}))
