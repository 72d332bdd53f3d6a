// A real SMTP server (smtp-server, STARTTLS with the test's throwaway certificate, AUTH only after TLS) and a real
// HTTP listener, both on 127.0.0.1. Every message received is written to <outDir> as JSON; the first line printed is
// "READY <smtpPort> <httpPort>". Usage: node alert-sink.mjs <outDir> <cert.pem> <key.pem> <user> <password>
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [outDir, certFile, keyFile, user, pass] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
let n = 0;
const save = (kind, obj) => fs.writeFileSync(path.join(outDir, `${kind}-${Date.now()}-${++n}.json`), JSON.stringify(obj, null, 1));

const smtp = new SMTPServer({
  secure: false,
  key: fs.readFileSync(keyFile),
  cert: fs.readFileSync(certFile),
  authMethods: ['PLAIN', 'LOGIN'],
  allowInsecureAuth: false,
  logger: false,
  onAuth(auth, session, cb) {
    if (auth.username === user && auth.password === pass) return cb(null, { user: auth.username });
    return cb(new Error('Invalid username or password'));
  },
  onData(stream, session, cb) {
    simpleParser(stream).then((mail) => {
      save('mail', {
        secure: session.secure, user: session.user ?? null, envelopeFrom: session.envelope.mailFrom.address,
        envelopeTo: session.envelope.rcptTo.map((r) => r.address), subject: mail.subject, text: mail.text,
        host: mail.headers.get('x-nekkbackup-host') ?? null,
      });
      cb();
    }, cb);
  },
});

const web = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    save('webhook', { method: req.method, url: req.url, contentType: req.headers['content-type'] ?? null, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});

smtp.listen(0, '127.0.0.1', () => {
  web.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${smtp.server.address().port} ${web.address().port}\n`);
  });
});
const stop = () => { smtp.close(() => {}); web.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
