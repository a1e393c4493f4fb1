// JWT times are whole seconds since the epoch (RFC 7519 NumericDate); tests build exp, nbf and
// iat from the same clock the client reads, Date.now().
export const now = () => Math.floor(Date.now() / 1000);
