// AccessService from Node.js: a check, a write whose consistency token the
// next check relays, and a refusal read as its ErrorInfo.
//
//   cd clients/node && npm ci && ACCESS_ADDR=127.0.0.1:50051 node example.js
//
// ACCESS_API_KEY, when set, goes in `authorization: Bearer <key>` (a key with
// the read, write and platform scopes: the example creates an account).
// The service's proto is loaded at run time (@grpc/proto-loader), the way
// most Node gRPC clients do; ErrorInfo comes from google-proto-files.

'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const googleProtos = require('google-proto-files');

const repository = path.resolve(__dirname, '..', '..');

const definition = protoLoader.loadSync('access/v1/access.proto', {
  includeDirs: [path.join(repository, 'proto')],
  // Field names as in the proto; enums as their names; 64-bit numbers as strings.
  keepCase: true,
  enums: String,
  longs: String,
  defaults: true,
});
const { AccessService } = grpc.loadPackageDefinition(definition).access.v1;

// google.rpc.Status and ErrorInfo, to read the grpc-status-details-bin trailer.
const rpcTypes = new protobuf.Root();
rpcTypes.resolvePath = (_origin, target) => path.join(googleProtos.getProtoPath(), '..', target);
rpcTypes.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpcTypes.lookupType('google.rpc.Status');
const ErrorInfo = rpcTypes.lookupType('google.rpc.ErrorInfo');

/** The ErrorInfo of a refusal: its reason is what a program branches on. */
function errorInfo(err) {
  const [details] = err.metadata ? err.metadata.get('grpc-status-details-bin') : [];
  if (!details) return null;
  const status = Status.decode(details);
  const any = status.details.find((d) => d.type_url === 'type.googleapis.com/google.rpc.ErrorInfo');
  return any ? ErrorInfo.toObject(ErrorInfo.decode(any.value)) : null;
}

/** Calls `method` with `request`, as a promise. */
function call(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

async function main() {
  const addr = process.env.ACCESS_ADDR || '127.0.0.1:50051';
  // The service's own config: round robin over the addresses a name
  // resolves to, each method's deadline, and UNAVAILABLE retried on the
  // reads and checks (never on writes).
  const serviceConfig = fs.readFileSync(path.join(repository, 'api', 'service-config.json'), 'utf8');
  const client = new AccessService(addr, grpc.credentials.createInsecure(), {
    'grpc.service_config': serviceConfig,
  });
  const metadata = new grpc.Metadata();
  if (process.env.ACCESS_API_KEY) metadata.set('authorization', `Bearer ${process.env.ACCESS_API_KEY}`);
  const account = `node-${crypto.randomBytes(6).toString('hex')}`;
  const olivia = { user_id: 'u-olivia', email: 'olivia@example.com', name: 'Olivia Owner' };

  // A write answers with a consistency token ...
  const created = await call(client, 'CreateAccount', { account_id: account, name: 'Node Example', owner: olivia }, metadata);
  console.log(`created ${created.account.id}, token ${created.consistency_token}`);

  // ... which the next check relays: its answer is at least as fresh as the
  // write, on any replica, whatever the caches hold.
  const decision = await call(client, 'Authorize', {
    user_id: 'u-olivia',
    account_id: account,
    permission: 'campaigns.send',
    consistency: { at_least_as_fresh: created.consistency_token },
  }, metadata);
  console.log(`authorize: allowed=${decision.allowed} reason=${decision.reason}`);
  if (!decision.allowed) return 1;

  // A refusal: the same account id for another owner. The status code says
  // what kind of failure; ErrorInfo's reason and metadata say which.
  const mallory = { user_id: 'u-mallory', email: 'mallory@example.com', name: 'Mallory' };
  try {
    await call(client, 'CreateAccount', { account_id: account, name: 'Node Example', owner: mallory }, metadata);
  } catch (err) {
    const info = errorInfo(err);
    if (!info) {
      console.error(`refused without ErrorInfo: ${err.message}`);
      return 1;
    }
    const code = Object.keys(grpc.status).find((name) => grpc.status[name] === err.code);
    console.log(`refused: ${code} ${info.reason} ${JSON.stringify(info.metadata)}`);
    return info.reason === 'ACCOUNT_EXISTS' ? 0 : 1;
  } finally {
    client.close();
  }
  console.error('a second owner for the same account was accepted');
  return 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
