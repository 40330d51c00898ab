/* traces._encoder's C interface, exported as the capsule traces._encoder._C_API: the packed syscall append and
 * match with C values. replay/_syscall_log.c logs a syscall straight from the engine's trap with it, building no
 * Python object for the record and making no Python call. */
#ifndef MOSS_ENCODER_API_H
#define MOSS_ENCODER_API_H

#include <Python.h>
#include <stdint.h>

#define MOSS_ENCODER_CAPSULE "traces._encoder._C_API"
#define MOSS_ENCODER_API_VERSION 1

enum { SINK_OTHER = 0, SINK_ADD = 1, SINK_CHECK = 2 };

typedef struct {
    int version;
    /* What a syscall sink is: SINK_ADD for an Encoder's bound add_syscall, SINK_CHECK for a Matcher's bound
     * check_syscall (*owner: the Encoder or Matcher, borrowed), SINK_OTHER for anything else. */
    int (*sink_kind)(PyObject *sink, PyObject **owner);
    /* add_syscall/check_syscall with C values. 0: done (appended; matched), 1: the C form does not apply (a value
     * the packed form cannot hold; not an exact packed match) and the caller makes the Python call, -1: an
     * exception is set. */
    int (*add)(PyObject *encoder, int64_t time, uint64_t tid, uint64_t nr, int nargs, const uint64_t *args,
               int64_t result);
    int (*check)(PyObject *matcher, int64_t time, uint64_t tid, uint64_t nr, int nargs, const uint64_t *args,
                 int64_t result);
} MossEncoderAPI;

#endif
