// The whole C surface of Headcount: librdkafka and its mock cluster, nothing else.
// Only the `Kafka` target imports this module.
#ifndef HEADCOUNT_CRDKAFKA_SHIM_H
#define HEADCOUNT_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

// Swift cannot call C variadic functions; rd_kafka_producev is one, so the producer goes
// through rd_kafka_produceva with an array of rd_kafka_vu_t. These helpers fill one entry
// each, because Swift cannot initialise the anonymous union inside rd_kafka_vu_t.
static inline void headcount_vu_topic(rd_kafka_vu_t *vu, const char *topic) {
    vu->vtype = RD_KAFKA_VTYPE_TOPIC;
    vu->u.cstr = topic;
}
static inline void headcount_vu_key(rd_kafka_vu_t *vu, const void *key, size_t size) {
    vu->vtype = RD_KAFKA_VTYPE_KEY;
    vu->u.mem.ptr = (void *)key;
    vu->u.mem.size = size;
}
static inline void headcount_vu_value(rd_kafka_vu_t *vu, const void *value, size_t size) {
    vu->vtype = RD_KAFKA_VTYPE_VALUE;
    vu->u.mem.ptr = (void *)value;
    vu->u.mem.size = size;
}
static inline void headcount_vu_partition(rd_kafka_vu_t *vu, int32_t partition) {
    vu->vtype = RD_KAFKA_VTYPE_PARTITION;
    vu->u.i32 = partition;
}
static inline void headcount_vu_msgflags(rd_kafka_vu_t *vu, int flags) {
    vu->vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu->u.i = flags;
}
static inline void headcount_vu_opaque(rd_kafka_vu_t *vu, void *opaque) {
    vu->vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu->u.ptr = opaque;
}
static inline void headcount_vu_header(rd_kafka_vu_t *vu, const char *name, const void *value, ssize_t size) {
    vu->vtype = RD_KAFKA_VTYPE_HEADER;
    vu->u.header.name = name;
    vu->u.header.val = value;
    vu->u.header.size = size;
}

#endif
