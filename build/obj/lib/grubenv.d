build/obj/lib/grubenv.o: lib/grubenv.c lib/grubenv.h lib/durable.h \
 lib/util.h
lib/grubenv.h:
lib/durable.h:
lib/util.h:
