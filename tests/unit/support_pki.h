/* support_pki.h — a throw-away test PKI for TLS tests (EC P-256).
 *
 * support_pki_make(dir) writes into dir:
 *   ca1.pem/.key, ca2.pem/.key         two self-signed CAs
 *   server.pem/.key                     leaf of CA 1 (SAN localhost, 127.0.0.1)
 *   client.pem/.key                     leaf of CA 1
 *   other.pem/.key                      leaf of CA 2
 *   expired.pem/.key                    leaf of CA 1, expired yesterday
 *   revoked.pem/.key, ca1.crl           leaf of CA 1 and a CRL revoking it
 *   server2.pem/.key                    leaf of CA 2
 *   nosan.pem/.key                      leaf of CA 1 without DNS/IP names
 *   ca1twin.pem/.key                    a self-signed CA with CA 1's name and key
 *                                       identifier but another key
 *   ca1again.pem/.key                   CA 1 reissued: same name and key, other
 *                                       serial and validity
 *   lapsed.pem/.key                     leaf of CA 1, valid from 2 h to 1 h ago
 *   early.pem/.key                      leaf of CA 1, valid from tomorrow
 * Returns 0 or -1.
 */
#ifndef SUPPORT_PKI_H
#define SUPPORT_PKI_H

#include <stdbool.h>
#include <stddef.h>

int support_pki_make(const char *dir);
void support_pki_path(char *out, size_t cap, const char *dir, const char *name, const char *ext);

#endif
