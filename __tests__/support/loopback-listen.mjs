// Preloaded (`node --import`) into programs that listen on a fixed port on every interface, as
// guides write them: the program's `listen` goes to a free port on 127.0.0.1 instead, and the
// address is printed so the test can find it.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  this.once('listening', () => {
    process.stdout.write(`listening on http://127.0.0.1:${this.address().port}\n`);
  });
  const callback = args.find((arg) => typeof arg === 'function');
  return callback ? listen.call(this, 0, '127.0.0.1', callback) : listen.call(this, 0, '127.0.0.1');
};
