// An Express API protected by express-oauth2-jwt-bearer (unchanged), which discovers the
// issuer's metadata itself and takes its allowed algorithms from
// id_token_signing_alg_values_supported. Usage: node express_bearer_server.cjs PORT ISSUER AUDIENCE
const express = require("express");
const { auth } = require("express-oauth2-jwt-bearer");

const [port, issuerBaseURL, audience] = process.argv.slice(2);
const app = express();
app.use(auth({ issuerBaseURL, audience }));
app.get("/whoami", (req, res) => res.json({ client_id: req.auth.payload.client_id }));
app.use((err, req, res, next) => res.status(err.status || 500).json({ error: err.code || err.message }));
app.listen(Number(port), "127.0.0.1", () => console.log("ready"));
