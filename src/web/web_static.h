/*
 * web_static.h — the console's static files (src/web/static), embedded into
 * the binary at build time by cmake/embed.cmake.
 */
#ifndef BACSC_WEB_STATIC_H
#define BACSC_WEB_STATIC_H

#include <stddef.h>

typedef struct bacsc_web_static_file {
    const char *name;            /* file name, e.g. "app.js"; NULL ends the table */
    const unsigned char *data;
    size_t len;
} bacsc_web_static_file;

extern const bacsc_web_static_file bacsc_web_static[];

#endif
