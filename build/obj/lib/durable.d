build/obj/lib/durable.o: lib/durable.c lib/durable.h lib/util.h
lib/durable.h:
lib/util.h:
