build/obj/userspace/main.o: userspace/main.c lib/log.h lib/util.h
lib/log.h:
lib/util.h:
