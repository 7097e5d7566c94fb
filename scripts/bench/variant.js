// The njs baseline of scripts/bench-module: the same job as the module's
// one experiment (id from a cookie, bucket from a hash, a variant), in
// JavaScript inside nginx.
var crypto = require('crypto');

function bucket(s) {
    var d = crypto.createHash('md5').update(s).digest();
    return ((d[0] << 8 | d[1]) * 10000) >> 16;
}

function uid(r) {
    var c = r.variables.cookie_abid;
    if (c && /^[A-Za-z0-9_-]{16,64}$/.test(c)) {
        return c;
    }
    return '';
}

function variant(r) {
    var id = uid(r);
    if (!id) {
        return '';
    }
    return bucket('checkout-cta:variant:' + id) < 5000 ? 'control' : 'upsell';
}

export default { uid, variant };
