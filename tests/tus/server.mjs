// server.mjs: a real tus 1.0 server (@tus/server) for the upload tests
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: node server.mjs DIRECTORY [PORT]
// Prints {"port": N} once listening, then one JSON line per request:
// method, url and the Upload-Offset the client sent.
import http from 'node:http';
import {Server} from '@tus/server';
import {FileStore} from '@tus/file-store';

const [directory, port] = process.argv.slice(2);
const tus = new Server({path: '/files', datastore: new FileStore({directory})});
const server = http.createServer((req, res) => {
    console.log(JSON.stringify({
        method: req.method,
        url: req.url,
        offset: req.headers['upload-offset'] ?? null,
    }));
    tus.handle(req, res);
});
server.listen(Number(port ?? 0), '127.0.0.1', () => console.log(JSON.stringify({port: server.address().port})));
