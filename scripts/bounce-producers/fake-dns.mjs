#!/usr/bin/env node
// A DNS server for the producers' chrooted resolvers (Postfix's /var/spool/postfix/etc/resolv.conf
// says "nameserver 127.0.0.53"): nullmx.test has a null MX (RFC 7505, "0 ."), every other name
// is NXDOMAIN. Not used by tests. Run as root: node scripts/bounce-producers/fake-dns.mjs
import dns2 from 'dns2';

const { Packet } = dns2;
const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [q] = request.questions;
    const name = q.name.toLowerCase().replace(/\.$/, '');
    if (name === 'nullmx.test') {
      if (q.type === Packet.TYPE.MX) {
        response.answers.push({
          name: q.name,
          type: Packet.TYPE.MX,
          class: Packet.CLASS.IN,
          ttl: 300,
          priority: 0,
          exchange: '',
        });
      }
    } else {
      response.header.rcode = 3;
    }
    console.log(new Date().toISOString(), q.name, q.type, response.header.rcode);
    send(response);
  },
});
server.listen({ udp: { port: 53, address: '127.0.0.53' } });
